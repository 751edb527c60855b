module github.com/harkvoice/hark

go 1.26
