package dialogue

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/harkvoice/hark/pipeline"
)

// Engine is the offline dialogue engine. It is safe for concurrent use: it
// keeps no conversation state of its own and reads it from each request's
// messages.
type Engine struct {
	domains   []*Domain
	intents   []*compiled
	idf       map[string]float64
	threshold float64
}

var _ pipeline.LLM = (*Engine)(nil)

type config struct {
	domains   []*Domain
	threshold float64
}

// Option configures an Engine.
type Option func(*config) error

// WithDomains sets the domains the engine knows (default: Builtin). The
// first domain's fallback is said when nothing matches.
func WithDomains(domains ...*Domain) Option {
	return func(c *config) error {
		if len(domains) == 0 || slices.Contains(domains, nil) {
			return fmt.Errorf("%w: no domains", ErrOption)
		}
		c.domains = domains
		return nil
	}
}

// WithThreshold sets the lowest match score, in (0, 1), that selects an
// intent (default 0.55). Higher is stricter.
func WithThreshold(t float64) Option {
	return func(c *config) error {
		if !(t > 0 && t < 1) {
			return fmt.Errorf("%w: threshold %v not in (0, 1)", ErrOption, t)
		}
		c.threshold = t
		return nil
	}
}

// New returns an Engine.
func New(opts ...Option) (*Engine, error) {
	c := &config{}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	if c.domains == nil {
		d, err := Builtin()
		if err != nil {
			return nil, err
		}
		c.domains = d
	}
	if c.threshold == 0 {
		c.threshold = 0.55
	}
	e := &Engine{domains: c.domains, threshold: c.threshold, idf: map[string]float64{}}
	df := map[string]int{}
	for _, d := range c.domains {
		for i := range d.Intents {
			in := &d.Intents[i]
			ci := &compiled{domain: d, intent: in, vocab: map[string]bool{}, slotSyn: map[string]map[string][][]token{}}
			for _, lang := range slices.Sorted(maps.Keys(in.Examples)) {
				for _, ex := range in.Examples[lang] {
					toks := tokenize(ex)
					ci.examples = append(ci.examples, toks)
					for _, t := range toks {
						if t.slot == "" {
							ci.vocab[t.text] = true
						}
					}
				}
			}
			for name, s := range in.Slots {
				ci.slotSyn[name] = map[string][][]token{}
				for value, syns := range s.Values {
					for _, syn := range append([]string{value}, syns...) {
						ci.slotSyn[name][value] = append(ci.slotSyn[name][value], tokenize(syn))
					}
				}
			}
			for w := range ci.vocab {
				df[w]++
			}
			e.intents = append(e.intents, ci)
		}
	}
	n := float64(len(e.intents))
	for w, k := range df {
		e.idf[w] = math.Log(1 + n/float64(k))
	}
	return e, nil
}

func (e *Engine) idfOf(w string) float64 {
	if v, ok := e.idf[w]; ok {
		return v
	}
	return math.Log(1 + float64(len(e.intents)))
}

// Match is the engine's reading of one utterance.
type Match struct {
	Intent string            // empty when nothing scored above the threshold
	Domain string            // the intent's domain
	Score  float64           // in [0, 1]
	Slots  map[string]string // slot values found (defaults not included)
}

// Match returns the intent that best fits text, with its slots.
func (e *Engine) Match(text string) Match {
	ci, sv, score := e.best(tokenize(text))
	if ci == nil {
		return Match{Score: score}
	}
	return Match{Intent: ci.intent.Name, Domain: ci.domain.Name, Score: score, Slots: sv.values}
}

func (e *Engine) best(toks []token) (*compiled, slotValues, float64) {
	var best *compiled
	var bestSV slotValues
	top := 0.0
	for _, ci := range e.intents {
		sv := ci.extract(toks)
		if s := ci.score(toks, sv, e.idfOf); s > top {
			best, bestSV, top = ci, sv, s
		}
	}
	if top < e.threshold {
		return nil, slotValues{}, top
	}
	return best, bestSV, top
}

// Tools returns the tools the engine's intents call, described as an LLM
// would be given them.
func (e *Engine) Tools() []pipeline.Tool {
	var out []pipeline.Tool
	seen := map[string]bool{}
	for _, ci := range e.intents {
		if t := ci.intent.Tool; t != nil && !seen[t.Name] {
			seen[t.Name] = true
			out = append(out, pipeline.Tool{Name: t.Name, Description: t.Description, Parameters: slices.Clone(t.Parameters)})
		}
	}
	return out
}

// Vocabulary returns the example phrases of one language with slots filled
// by sample values in words ("where is my order one two three four"), for
// biasing a speech recogniser towards what users of the domains say.
func (e *Engine) Vocabulary(lang string) []string {
	lang = baseLanguage(lang)
	var out []string
	for _, ci := range e.intents {
		for _, ex := range ci.intent.Examples[lang] {
			phrases := []string{ex}
			for _, m := range placeholderRE.FindAllStringSubmatch(ex, -1) {
				var samples []string
				switch s := ci.intent.Slots[m[1]]; s.Type {
				case SlotNumber:
					samples = []string{"one two three four", "five six seven eight nine zero"}
				case SlotDuration:
					samples = []string{"five minutes", "ten seconds", "one hour", "twenty minutes"}
				case SlotEnum:
					for _, v := range slices.Sorted(maps.Keys(s.Values)) {
						samples = append(samples, v)
					}
				}
				var next []string
				for _, p := range phrases {
					for _, sample := range samples {
						next = append(next, strings.Replace(p, m[0], sample, 1))
					}
				}
				phrases = next
			}
			out = append(out, phrases...)
		}
	}
	return out
}

// Stream answers the conversation in req. The reply is text deltas of a
// word each, or a single tool-call delta when an intent needs a tool that
// req offers; after the tool's result comes back as the last message, the
// reply is rendered from it.
func (e *Engine) Stream(ctx context.Context, req pipeline.Request) iter.Seq2[pipeline.Delta, error] {
	return func(yield func(pipeline.Delta, error) bool) {
		if err := context.Cause(ctx); err != nil {
			yield(pipeline.Delta{}, err)
			return
		}
		text, call, err := e.respond(req)
		if err != nil {
			yield(pipeline.Delta{}, err)
			return
		}
		if call != nil {
			yield(pipeline.Delta{ToolCall: call}, nil)
			return
		}
		words := strings.SplitAfter(text, " ")
		for _, w := range words {
			if err := context.Cause(ctx); err != nil {
				yield(pipeline.Delta{}, err)
				return
			}
			if w != "" && !yield(pipeline.Delta{Text: w}, nil) {
				return
			}
		}
	}
}

func (e *Engine) respond(req pipeline.Request) (string, *pipeline.ToolCall, error) {
	n := len(req.Messages)
	if n == 0 {
		return "", nil, fmt.Errorf("%w: no messages", ErrRequest)
	}
	lang := baseLanguage(req.Language)
	last := req.Messages[n-1]
	switch last.Role {
	case pipeline.RoleTool:
		return e.afterTool(req.Messages, lang), nil, nil
	case pipeline.RoleUser:
	default:
		return "", nil, nil
	}
	toks := tokenize(last.Content)
	ci, sv, _ := e.best(toks)

	// A reply to our question for a missing slot fills that slot.
	if pi, slot, prevUser := e.prompted(req.Messages, lang); pi != nil {
		if fill := pi.extract(toks); fill.values[slot] != "" {
			merged := pi.extract(tokenize(prevUser))
			maps.Copy(merged.values, fill.values)
			maps.Copy(merged.vars, fill.vars)
			ci, sv = pi, merged
		}
	}
	if ci == nil {
		d := e.domains[0]
		return d.text(d.Fallback, lang), nil, nil
	}
	in, d := ci.intent, ci.domain
	vars := map[string]string{}
	for _, name := range slices.Sorted(maps.Keys(in.Slots)) {
		s := in.Slots[name]
		if v, ok := sv.values[name]; ok {
			vars[name] = v
		} else if s.Default != "" {
			vars[name] = s.Default
		} else if s.Required {
			return d.text(s.Prompt, lang), nil, nil
		}
	}
	maps.Copy(vars, sv.vars)
	if in.Action == ActionRepeat {
		if again, ok := e.repeat(req); ok {
			return again, nil, nil
		}
	}
	if in.Tool == nil {
		return e.render(ci, vars, lang), nil, nil
	}
	if !slices.ContainsFunc(req.Tools, func(t pipeline.Tool) bool { return t.Name == in.Tool.Name }) {
		return d.text(d.NoTool, lang), nil, nil
	}
	args := map[string]any{}
	for name, tmpl := range in.Tool.Arguments {
		v, ok := fill(tmpl, vars)
		if !ok {
			return d.text(d.ToolError, lang), nil, nil
		}
		args[name] = v
		if m := placeholderRE.FindStringSubmatch(tmpl); m != nil && m[0] == tmpl && in.Slots[m[1]].Type == SlotDuration {
			if secs, err := strconv.Atoi(v); err == nil {
				args[name] = secs
			}
		}
	}
	b, err := json.Marshal(args)
	if err != nil {
		return "", nil, fmt.Errorf("%w: arguments: %w", ErrRequest, err)
	}
	return "", &pipeline.ToolCall{
		ID:        "call_" + in.Name + "_" + strconv.Itoa(n),
		Name:      in.Tool.Name,
		Arguments: string(b),
	}, nil
}

// repeat renders the last assistant reply with text again: the engine is
// deterministic, so answering the conversation as it stood before that reply
// gives the whole reply, also when the user heard only part of it.
func (e *Engine) repeat(req pipeline.Request) (string, bool) {
	msgs := req.Messages
	for k := len(msgs) - 2; k > 0; k-- {
		m := msgs[k]
		if m.Role != pipeline.RoleAssistant || strings.TrimSpace(m.Content) == "" {
			continue
		}
		if !m.Interrupted {
			return m.Content, true
		}
		before := req
		before.Messages = msgs[:k]
		if text, call, err := e.respond(before); err == nil && call == nil && text != "" {
			return text, true
		}
		return m.Content, true
	}
	return "", false
}

// prompted reports whether the assistant's last message asked for a slot:
// it returns the intent, the slot and the user message before the question.
func (e *Engine) prompted(msgs []pipeline.Message, lang string) (*compiled, string, string) {
	n := len(msgs)
	if n < 2 || msgs[n-2].Role != pipeline.RoleAssistant || msgs[n-2].Interrupted {
		return nil, "", ""
	}
	asked := normal(msgs[n-2].Content)
	var prevUser string
	for i := n - 3; i >= 0; i-- {
		if msgs[i].Role == pipeline.RoleUser {
			prevUser = msgs[i].Content
			break
		}
	}
	for _, ci := range e.intents {
		for _, name := range slices.Sorted(maps.Keys(ci.intent.Slots)) {
			if p := ci.domain.text(ci.intent.Slots[name].Prompt, lang); p != "" && normal(p) == asked {
				return ci, name, prevUser
			}
		}
	}
	return nil, "", ""
}

func normal(s string) string { return tokenText(tokenize(s)) }

func tokenText(toks []token) string {
	s := make([]string, len(toks))
	for i, t := range toks {
		s[i] = t.text
	}
	return strings.Join(s, " ")
}

// afterTool renders the reply to the last tool result.
func (e *Engine) afterTool(msgs []pipeline.Message, lang string) string {
	res := msgs[len(msgs)-1]
	for i := len(msgs) - 2; i >= 0; i-- {
		m := msgs[i]
		if m.Role != pipeline.RoleAssistant {
			continue
		}
		for _, call := range m.ToolCalls {
			if call.ID != res.ToolCallID {
				continue
			}
			ci := e.intentForCall(call)
			if ci == nil {
				break
			}
			vars := map[string]string{}
			var args map[string]any
			if json.Unmarshal([]byte(call.Arguments), &args) == nil {
				addVars(vars, args)
			}
			// The slots as the user gave them, for templates that name them.
			for i := len(msgs) - 2; i >= 0; i-- {
				if msgs[i].Role == pipeline.RoleUser {
					sv := ci.extract(tokenize(msgs[i].Content))
					for k, v := range sv.values {
						if _, ok := vars[k]; !ok {
							vars[k] = v
						}
					}
					maps.Copy(vars, sv.vars)
					break
				}
			}
			for name, tmpl := range ci.intent.Tool.Arguments {
				if m := placeholderRE.FindStringSubmatch(tmpl); m != nil && m[0] == tmpl {
					if v, ok := vars[name]; ok {
						vars[m[1]] = v
					}
				}
			}
			var result map[string]any
			if json.Unmarshal([]byte(res.Content), &result) == nil {
				addVars(vars, result)
			} else {
				vars["result"] = res.Content
			}
			return e.render(ci, vars, lang)
		}
	}
	d := e.domains[0]
	return d.text(d.ToolError, lang)
}

// intentForCall finds the intent that made a call from its ID, else its
// tool name.
func (e *Engine) intentForCall(call pipeline.ToolCall) *compiled {
	var byTool *compiled
	for _, ci := range e.intents {
		if t := ci.intent.Tool; t != nil && t.Name == call.Name {
			if strings.HasPrefix(call.ID, "call_"+ci.intent.Name+"_") {
				return ci
			}
			if byTool == nil {
				byTool = ci
			}
		}
	}
	return byTool
}

// addVars adds a JSON object's scalar fields as template variables.
func addVars(vars map[string]string, obj map[string]any) {
	for k, v := range obj {
		switch x := v.(type) {
		case string:
			vars[k] = x
		case float64:
			vars[k] = strconv.FormatFloat(x, 'f', -1, 64)
		case bool:
			vars[k] = strconv.FormatBool(x)
		}
	}
}

// render says the intent's first reply whose conditions hold and whose
// placeholders all have values; an error result without a fitting reply
// gives the domain's tool-error text.
func (e *Engine) render(ci *compiled, vars map[string]string, lang string) string {
	d := ci.domain
	for _, r := range ci.intent.Reply {
		if !holds(r.When, vars) {
			continue
		}
		tmpl := d.text(r.Text, lang)
		if s, ok := fill(tmpl, vars); ok && tmpl != "" {
			return s
		}
	}
	return d.text(d.ToolError, lang)
}

func holds(when, vars map[string]string) bool {
	for k, want := range when {
		got := vars[k]
		if want == "*" && got == "" || want != "*" && got != want {
			return false
		}
	}
	return true
}

// fill replaces {name} and {name|digits} in tmpl; it reports false if a
// variable is missing. The digits filter spaces out a number so that speech
// synthesisers read it digit by digit.
func fill(tmpl string, vars map[string]string) (string, bool) {
	ok := true
	out := placeholderRE.ReplaceAllStringFunc(tmpl, func(m string) string {
		sub := placeholderRE.FindStringSubmatch(m)
		v, found := vars[sub[1]]
		if !found || v == "" {
			ok = false
			return ""
		}
		if sub[2] == "|digits" && isDigits(v) {
			return strings.Join(strings.Split(v, ""), " ")
		}
		return v
	})
	return out, ok
}
