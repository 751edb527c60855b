package webrtc

import (
	"fmt"
	"net"
)

// loopbackPacketConn confines a UDP socket to loopback peers: datagrams from
// other addresses are dropped and writes to them are refused. Browsers offer
// their non-loopback addresses too and Linux routes those locally, so
// filtering candidates alone would still let traffic leave 127.0.0.1.
type loopbackPacketConn struct {
	net.PacketConn
}

// listenLoopbackUDP opens a filtered UDP socket on 127.0.0.1 with a free
// port.
func listenLoopbackUDP() (*loopbackPacketConn, error) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("webrtc: loopback UDP socket: %w", err)
	}
	return &loopbackPacketConn{PacketConn: pc}, nil
}

// ReadFrom returns the next datagram from a loopback address.
func (c *loopbackPacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(p)
		if err != nil || isLoopback(addr) {
			return n, addr, err
		}
	}
}

// WriteTo sends p to addr if addr is a loopback address.
func (c *loopbackPacketConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if !isLoopback(addr) {
		return 0, fmt.Errorf("%w: %v", ErrNotLoopback, addr)
	}
	return c.PacketConn.WriteTo(p, addr)
}

func isLoopback(addr net.Addr) bool {
	switch a := addr.(type) {
	case *net.UDPAddr:
		return a.IP.IsLoopback()
	case *net.TCPAddr:
		return a.IP.IsLoopback()
	}
	return false
}
