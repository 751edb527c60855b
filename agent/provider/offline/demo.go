package offline

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/provider/dialogue"
)

// Order is one row of the demo order table, as lookup_order returns it.
type Order struct {
	ID        string `json:"order_id"`
	Status    string `json:"status"` // shipped, processing, delivered, ...
	Item      string `json:"item,omitempty"`
	Carrier   string `json:"carrier,omitempty"`
	Shipped   string `json:"shipped,omitempty"`
	ETA       string `json:"eta,omitempty"`
	Delivered string `json:"delivered,omitempty"`
}

// DemoOrders returns the demo order table: 1234 shipped, 5678 being packed,
// 4321 delivered, 1111 shipped.
func DemoOrders() map[string]Order {
	return map[string]Order{
		"1234": {ID: "1234", Status: "shipped", Item: "running shoes", Carrier: "UPS", Shipped: "Tuesday", ETA: "Friday"},
		"5678": {ID: "5678", Status: "processing", Item: "coffee grinder"},
		"4321": {ID: "4321", Status: "delivered", Item: "wireless headphones", Delivered: "Monday"},
		"1111": {ID: "1111", Status: "shipped", Item: "winter jacket", Carrier: "FedEx", Shipped: "Monday", ETA: "Thursday"},
	}
}

// Demo is the in-memory world the demo tools act on: an order table, kitchen
// timers (counted down, never rung) and the lights of a few rooms. It is
// safe for concurrent use.
type Demo struct {
	orders map[string]Order
	now    func() time.Time

	mu     sync.Mutex
	timers []time.Time // end times
	lights map[string]bool
}

// NewDemo returns a Demo over orders, with all lights off.
func NewDemo(orders map[string]Order, now func() time.Time) *Demo {
	return &Demo{orders: orders, now: now, lights: map[string]bool{}}
}

// Lights returns which rooms' lights are on.
func (d *Demo) Lights() map[string]bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return maps.Clone(d.lights)
}

// Rooms with lights.
var rooms = []string{"kitchen", "living room", "bedroom", "bathroom", "hallway"}

// Tools returns the demo tools the engine's domains call, each an
// agent.Tool with its description taken from the domain file. Tools of
// other domains, with other names, need agent.Tool values of their own.
func (d *Demo) Tools(e *dialogue.Engine) []agent.Tool {
	funcs := map[string]func(ctx context.Context, args json.RawMessage) (string, error){
		"lookup_order":      d.lookupOrder,
		"transfer_to_human": d.transfer,
		"get_time":          d.getTime,
		"set_timer":         d.setTimer,
		"list_timers":       d.listTimers,
		"cancel_timers":     d.cancelTimers,
		"set_lights":        d.setLights,
	}
	var out []agent.Tool
	for _, t := range e.Tools() {
		if f, ok := funcs[t.Name]; ok {
			out = append(out, agent.Tool{Tool: t, Func: f, Timeout: 2 * time.Second})
		}
	}
	return out
}

func reply(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

func (d *Demo) lookupOrder(_ context.Context, args json.RawMessage) (string, error) {
	var a struct {
		OrderID json.RawMessage `json:"order_id"`
	}
	if err := json.Unmarshal(args, &a); err != nil {
		return "", fmt.Errorf("lookup_order: %w", err)
	}
	// Models send the number as a string or as a number.
	id := strings.Trim(string(a.OrderID), `" `)
	if o, ok := d.orders[id]; ok {
		return reply(o)
	}
	return reply(Order{ID: id, Status: "not_found"})
}

func (d *Demo) transfer(_ context.Context, args json.RawMessage) (string, error) {
	var a struct {
		Reason string `json:"reason"`
	}
	if err := json.Unmarshal(args, &a); err != nil || a.Reason == "" {
		a.Reason = "the caller asked for a person"
	}
	return "", agent.Handoff(a.Reason)
}

func clock(t time.Time) string { return t.Format("3:04 PM") }

func (d *Demo) getTime(context.Context, json.RawMessage) (string, error) {
	now := d.now()
	return reply(map[string]string{"time": clock(now), "weekday": now.Weekday().String(), "date": now.Format("January 2")})
}

func (d *Demo) setTimer(_ context.Context, args json.RawMessage) (string, error) {
	var a struct {
		Seconds int `json:"seconds"`
	}
	if err := json.Unmarshal(args, &a); err != nil {
		return "", fmt.Errorf("set_timer: %w", err)
	}
	if a.Seconds <= 0 || a.Seconds > 24*3600 {
		return "", fmt.Errorf("set_timer: %d seconds is not between 1 second and 24 hours", a.Seconds)
	}
	end := d.now().Add(time.Duration(a.Seconds) * time.Second)
	d.mu.Lock()
	d.timers = append(d.timers, end)
	n := len(d.timers)
	d.mu.Unlock()
	return reply(map[string]any{"id": n, "seconds": a.Seconds, "ends": clock(end)})
}

// running drops finished timers and returns the rest, soonest first; call
// with d.mu held.
func (d *Demo) running() []time.Time {
	now := d.now()
	d.timers = slices.DeleteFunc(d.timers, func(t time.Time) bool { return !t.After(now) })
	slices.SortFunc(d.timers, func(a, b time.Time) int { return a.Compare(b) })
	return d.timers
}

func (d *Demo) listTimers(context.Context, json.RawMessage) (string, error) {
	d.mu.Lock()
	ts := d.running()
	res := map[string]any{"count": len(ts)}
	if len(ts) > 0 {
		res["left"] = spoken(ts[0].Sub(d.now()))
	}
	d.mu.Unlock()
	return reply(res)
}

// spoken says a duration in whole minutes and seconds: "4 minutes 10
// seconds".
func spoken(left time.Duration) string {
	secs := int(left.Round(time.Second) / time.Second)
	var parts []string
	unit := func(n int, name string) {
		if n == 1 {
			parts = append(parts, "1 "+name)
		} else if n > 1 {
			parts = append(parts, fmt.Sprintf("%d %ss", n, name))
		}
	}
	unit(secs/3600, "hour")
	unit(secs%3600/60, "minute")
	unit(secs%60, "second")
	if len(parts) == 0 {
		return "less than a second"
	}
	return strings.Join(parts, " ")
}

func (d *Demo) cancelTimers(context.Context, json.RawMessage) (string, error) {
	d.mu.Lock()
	n := len(d.running())
	d.timers = nil
	d.mu.Unlock()
	return reply(map[string]int{"cancelled": n})
}

func (d *Demo) setLights(_ context.Context, args json.RawMessage) (string, error) {
	var a struct {
		Room  string `json:"room"`
		State string `json:"state"`
	}
	if err := json.Unmarshal(args, &a); err != nil {
		return "", fmt.Errorf("set_lights: %w", err)
	}
	if a.State != "on" && a.State != "off" {
		return "", fmt.Errorf("set_lights: state %q is not on or off", a.State)
	}
	if a.Room == "" {
		a.Room = "all"
	}
	if a.Room != "all" && !slices.Contains(rooms, a.Room) {
		return "", fmt.Errorf("set_lights: no room %q (have %s)", a.Room, strings.Join(rooms, ", "))
	}
	d.mu.Lock()
	for _, r := range rooms {
		if a.Room == "all" || a.Room == r {
			d.lights[r] = a.State == "on"
		}
	}
	d.mu.Unlock()
	return reply(a)
}
