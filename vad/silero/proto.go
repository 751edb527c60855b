package silero

import (
	"encoding/binary"
	"fmt"
	"math"
)

// This file is a minimal reader for the protocol buffer wire format, just
// enough to walk an ONNX model (ModelProto -> GraphProto -> NodeProto ->
// AttributeProto -> TensorProto) and pull out its constant tensors.

// Wire types of the protocol buffer encoding.
const (
	wireVarint = 0
	wire64     = 1
	wireBytes  = 2
	wire32     = 5
)

// field is one decoded protocol buffer field. For wireBytes, data holds the
// payload; for the numeric wire types, num holds the raw value.
type field struct {
	num   int
	wire  int
	num64 uint64
	data  []byte
}

// pbReader iterates the fields of one protocol buffer message.
type pbReader struct {
	buf []byte
	err error
}

func (r *pbReader) varint() uint64 {
	var v uint64
	for shift := uint(0); shift < 64; shift += 7 {
		if len(r.buf) == 0 {
			r.err = fmt.Errorf("%w: truncated varint", ErrModelFormat)
			return 0
		}
		b := r.buf[0]
		r.buf = r.buf[1:]
		v |= uint64(b&0x7f) << shift
		if b < 0x80 {
			return v
		}
	}
	r.err = fmt.Errorf("%w: varint too long", ErrModelFormat)
	return 0
}

// next decodes the next field; it returns false at the end of the message or
// on an error (then r.err is set).
func (r *pbReader) next(f *field) bool {
	if r.err != nil || len(r.buf) == 0 {
		return false
	}
	key := r.varint()
	if r.err != nil {
		return false
	}
	f.num, f.wire, f.data, f.num64 = int(key>>3), int(key&7), nil, 0
	switch f.wire {
	case wireVarint:
		f.num64 = r.varint()
	case wire64:
		if len(r.buf) < 8 {
			r.err = fmt.Errorf("%w: truncated fixed64", ErrModelFormat)
			return false
		}
		f.num64 = binary.LittleEndian.Uint64(r.buf)
		r.buf = r.buf[8:]
	case wire32:
		if len(r.buf) < 4 {
			r.err = fmt.Errorf("%w: truncated fixed32", ErrModelFormat)
			return false
		}
		f.num64 = uint64(binary.LittleEndian.Uint32(r.buf))
		r.buf = r.buf[4:]
	case wireBytes:
		n := r.varint()
		if r.err != nil {
			return false
		}
		if n > uint64(len(r.buf)) {
			r.err = fmt.Errorf("%w: field %d claims %d bytes, %d left", ErrModelFormat, f.num, n, len(r.buf))
			return false
		}
		f.data = r.buf[:n]
		r.buf = r.buf[n:]
	default:
		r.err = fmt.Errorf("%w: unsupported wire type %d", ErrModelFormat, f.wire)
		return false
	}
	return r.err == nil
}

// ONNX field numbers used below (onnx.proto3).
const (
	modelGraph = 7

	graphNode        = 1
	graphInitializer = 5

	nodeInput     = 1
	nodeOutput    = 2
	nodeOpType    = 4
	nodeAttribute = 5

	attrName   = 1
	attrT      = 5
	attrG      = 6
	attrGraphs = 11

	tensorDims      = 1
	tensorDataType  = 2
	tensorFloatData = 4
	tensorName      = 8
	tensorRawData   = 9

	onnxFloat = 1
)

// tensor is a float32 constant found in the model.
type tensor struct {
	dims []int
	data []float32
}

// size is the number of elements the dims describe.
func (t tensor) size() int {
	n := 1
	for _, d := range t.dims {
		n *= d
	}
	return n
}

// node is an ONNX graph node, reduced to what the weight mapping needs.
type node struct {
	op      string
	inputs  []string
	outputs []string
}

// maxDepth bounds the nesting of subgraphs (Silero nests three deep), so a
// hostile file cannot exhaust the stack.
const maxDepth = 16

// graph is a flattened view of an ONNX graph with its nested subgraphs
// (the branches of If nodes), in the order they appear in the file.
type graph struct {
	nodes     []node
	constants map[string]tensor // by output or initializer name
	depth     int               // current subgraph nesting while parsing
}

// parseModel walks an ONNX ModelProto.
func parseModel(b []byte) (*graph, error) {
	g := &graph{constants: make(map[string]tensor)}
	r := pbReader{buf: b}
	var f field
	found := false
	for r.next(&f) {
		if f.num == modelGraph && f.wire == wireBytes {
			if err := g.parseGraph(f.data); err != nil {
				return nil, err
			}
			found = true
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	if !found {
		return nil, fmt.Errorf("%w: no graph", ErrModelFormat)
	}
	return g, nil
}

func (g *graph) parseGraph(b []byte) error {
	if g.depth++; g.depth > maxDepth {
		return fmt.Errorf("%w: subgraphs nested more than %d deep", ErrModelFormat, maxDepth)
	}
	defer func() { g.depth-- }()
	r := pbReader{buf: b}
	var f field
	for r.next(&f) {
		if f.wire != wireBytes {
			continue
		}
		switch f.num {
		case graphNode:
			if err := g.parseNode(f.data); err != nil {
				return err
			}
		case graphInitializer:
			name, t, err := parseTensor(f.data)
			if err != nil {
				return err
			}
			if t.data != nil {
				g.constants[name] = t
			}
		}
	}
	return r.err
}

func (g *graph) parseNode(b []byte) error {
	var n node
	var attrs [][]byte
	r := pbReader{buf: b}
	var f field
	for r.next(&f) {
		if f.wire != wireBytes {
			continue
		}
		switch f.num {
		case nodeInput:
			n.inputs = append(n.inputs, string(f.data))
		case nodeOutput:
			n.outputs = append(n.outputs, string(f.data))
		case nodeOpType:
			n.op = string(f.data)
		case nodeAttribute:
			attrs = append(attrs, f.data)
		}
	}
	if r.err != nil {
		return r.err
	}
	g.nodes = append(g.nodes, n)
	for _, a := range attrs {
		if err := g.parseAttribute(n, a); err != nil {
			return err
		}
	}
	return nil
}

func (g *graph) parseAttribute(n node, b []byte) error {
	r := pbReader{buf: b}
	var f field
	for r.next(&f) {
		if f.wire != wireBytes {
			continue
		}
		switch f.num {
		case attrT:
			if n.op != "Constant" || len(n.outputs) != 1 {
				continue
			}
			_, t, err := parseTensor(f.data)
			if err != nil {
				return err
			}
			if t.data != nil {
				g.constants[n.outputs[0]] = t
			}
		case attrG, attrGraphs:
			if err := g.parseGraph(f.data); err != nil {
				return err
			}
		}
	}
	return r.err
}

// parseTensor decodes a TensorProto; tensors of types other than float32
// come back with nil data.
func parseTensor(b []byte) (string, tensor, error) {
	var (
		t     tensor
		name  string
		dtype uint64
		raw   []byte
		vals  []float32
	)
	r := pbReader{buf: b}
	var f field
	for r.next(&f) {
		switch {
		case f.num == tensorDims && f.wire == wireVarint:
			t.dims = append(t.dims, int(f.num64))
		case f.num == tensorDims && f.wire == wireBytes:
			pr := pbReader{buf: f.data}
			for len(pr.buf) > 0 && pr.err == nil {
				t.dims = append(t.dims, int(pr.varint()))
			}
			if pr.err != nil {
				return "", t, pr.err
			}
		case f.num == tensorDataType && f.wire == wireVarint:
			dtype = f.num64
		case f.num == tensorFloatData && f.wire == wire32:
			vals = append(vals, math.Float32frombits(uint32(f.num64)))
		case f.num == tensorFloatData && f.wire == wireBytes:
			if len(f.data)%4 != 0 {
				return "", t, fmt.Errorf("%w: packed floats of %d bytes", ErrModelFormat, len(f.data))
			}
			for i := 0; i < len(f.data); i += 4 {
				vals = append(vals, math.Float32frombits(binary.LittleEndian.Uint32(f.data[i:])))
			}
		case f.num == tensorName && f.wire == wireBytes:
			name = string(f.data)
		case f.num == tensorRawData && f.wire == wireBytes:
			raw = f.data
		}
	}
	if r.err != nil {
		return "", t, r.err
	}
	for _, d := range t.dims {
		if d < 0 || d > 1<<24 {
			return "", t, fmt.Errorf("%w: tensor %q has dimension %d", ErrModelFormat, name, d)
		}
	}
	if dtype != onnxFloat {
		return name, t, nil
	}
	if raw != nil {
		if len(raw)%4 != 0 {
			return "", t, fmt.Errorf("%w: tensor %q raw data of %d bytes", ErrModelFormat, name, len(raw))
		}
		vals = make([]float32, len(raw)/4)
		for i := range vals {
			vals[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
	}
	if vals == nil {
		vals = []float32{}
	}
	t.data = vals
	if t.size() != len(t.data) {
		return "", t, fmt.Errorf("%w: tensor %q has %d values for dims %v", ErrModelFormat, name, len(t.data), t.dims)
	}
	return name, t, nil
}
