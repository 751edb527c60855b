package agent

import (
	"fmt"

	"github.com/harkvoice/hark/pipeline"
)

// Bounds on the images waiting for the next user turn (WithImageLimit).
const (
	DefaultMaxImages     = 8
	DefaultMaxImageBytes = 8 << 20
)

// WithImageLimit bounds the images SendImage attaches to the next user
// turn: at most count images of at most bytes in total (defaults 8 and
// 8 MiB). An image over either bound is dropped with an error event, so a
// client cannot grow the session's memory without bound.
func WithImageLimit(count, bytes int) Option {
	return func(c *config) error {
		if count < 1 || bytes < 1 {
			return fmt.Errorf("%w: image limit %d images, %d bytes", ErrOption, count, bytes)
		}
		c.maxImages, c.maxImageBytes = count, bytes
		return nil
	}
}

// addImage keeps img for the next user turn, within the image limit.
func (l *loop) addImage(img pipeline.Image) {
	size := len(img.Data)
	for _, im := range l.images {
		size += len(im.Data)
	}
	if len(l.images) >= l.cfg.maxImages || size > l.cfg.maxImageBytes {
		l.emit(Event{Type: EventError, Text: fmt.Sprintf("agent: image dropped: at most %d images of %d bytes in all wait for the next turn",
			l.cfg.maxImages, l.cfg.maxImageBytes)})
		return
	}
	l.images = append(l.images, img)
}
