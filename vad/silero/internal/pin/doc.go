// Package pin holds the pinned facts of the default Silero model: where it
// is published, where it lies inside that archive and its checksum. Load
// checks them and the getmodel command fetches exactly this, so `make deps`
// and library users get the same bytes.
package pin
