package device_test

import (
	"errors"
	"fmt"

	"github.com/harkvoice/hark/agent/transport/device"
)

func ExampleParseClientMessage() {
	m, err := device.ParseClientMessage([]byte(`{"type":"hello","version":1,"language":"de","audio":{"encoding":"opus","sample_rate":48000}}`))
	fmt.Println(m.Type, m.Hello.Language, m.Hello.Audio.Format(), err)

	_, err = device.ParseClientMessage([]byte(`{"type":"hello","version":1,"audio":{"encoding":"pcm16","sample_rate":8000}}`))
	var pe *device.ProtocolError
	if errors.As(err, &pe) {
		fmt.Println(pe.Code+":", pe.Reason)
	}
	// Output:
	// hello de 48000Hz/1ch <nil>
	// bad_audio_format: pcm16 needs sample_rate 16000, got 8000
}
