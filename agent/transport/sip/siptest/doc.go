// Package siptest drives SIP calls against a server in tests with sipp
// (Debian sip-tester), the reference SIP test tool: its scenarios (callers
// that ask, press keys, talk over the agent, cancel, or are transferred,
// and a human that answers), μ-law and A-law WAV files for sipp to play,
// and an RTP listener that records what the server sends to the caller's
// media port.
//
// Scenarios take sipp -key substitutions: codec_pt and codec_name (the
// offered codec), rtp_port (the caller's media port in the offer: an
// RTPSink's), rtp_stream ("file.wav,1,PT", what sipp plays), dtmf_pcap and
// human_port where a scenario names them. Tests using this package need
// sipp installed; Run skips the test without it.
package siptest
