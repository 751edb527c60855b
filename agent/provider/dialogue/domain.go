package dialogue

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
)

// Errors returned by the engine and the domain loader.
var (
	// ErrDomain reports a domain file that cannot be used.
	ErrDomain = errors.New("dialogue: invalid domain")
	// ErrOption reports an invalid option value.
	ErrOption = errors.New("dialogue: invalid option")
	// ErrRequest reports a request the engine cannot answer (no messages).
	ErrRequest = errors.New("dialogue: invalid request")
)

// Text is a piece of text in several languages, keyed by base language code
// ("en", "es").
type Text map[string]string

// Domain is a set of intents loaded from a domain file.
type Domain struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Language is the language used when a request's language has no text.
	Language string `json:"language"`
	// Fallback is said when no intent matches.
	Fallback Text `json:"fallback"`
	// NoTool is said when an intent needs a tool the request does not offer.
	NoTool Text `json:"no_tool"`
	// ToolError is said when no reply template fits a tool's result.
	ToolError Text     `json:"tool_error"`
	Intents   []Intent `json:"intents"`
}

// Intent is one thing a user may want.
type Intent struct {
	Name string `json:"name"`
	// Examples are phrases per language; {slot} marks where a slot value
	// goes.
	Examples map[string][]string `json:"examples"`
	Slots    map[string]Slot     `json:"slots,omitempty"`
	// Tool, if set, is called once the required slots are filled; Reply is
	// then rendered from its result.
	Tool *ToolSpec `json:"tool,omitempty"`
	// Reply lists candidate replies; the first whose conditions hold and
	// whose placeholders all have values is said.
	Reply []Reply `json:"reply"`
	// Action, if set, replaces the reply with a built-in behaviour:
	// ActionRepeat. Reply is then said only when the action has nothing to
	// do.
	Action Action `json:"action,omitempty"`
}

// Action is a built-in behaviour of an intent.
type Action string

// Actions.
const (
	// ActionRepeat says the engine's last reply again, in full even if the
	// user cut it off.
	ActionRepeat Action = "repeat"
)

// SlotType says how a slot's value is found in the user's words.
type SlotType string

// Slot types.
const (
	// SlotNumber is a digit string ("1234"), from digits or number words.
	SlotNumber SlotType = "number"
	// SlotDuration is a number of seconds ("300" for "five minutes"); the
	// variable NAME_text holds it in words ("5 minutes").
	SlotDuration SlotType = "duration"
	// SlotEnum is one of Values' keys, recognised by its synonyms.
	SlotEnum SlotType = "enum"
)

// Slot is a value an intent needs.
type Slot struct {
	Type SlotType `json:"type"`
	// Required slots make the engine ask with Prompt until they are given.
	Required bool `json:"required,omitempty"`
	Prompt   Text `json:"prompt,omitempty"`
	// MinDigits and MaxDigits bound a number slot's length (0: no bound).
	MinDigits int `json:"min_digits,omitempty"`
	MaxDigits int `json:"max_digits,omitempty"`
	// Values maps each enum value to the phrases that name it, in any
	// language.
	Values map[string][]string `json:"values,omitempty"`
	// Default is used when an optional slot is not given.
	Default string `json:"default,omitempty"`
}

// ToolSpec is the tool an intent calls, described as an LLM would see it.
type ToolSpec struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Parameters  json.RawMessage `json:"parameters"`
	// Arguments maps each argument to a template ("{order_id}"). Duration
	// slots standing alone become JSON numbers, everything else strings.
	Arguments map[string]string `json:"arguments"`
}

// Reply is one candidate reply.
type Reply struct {
	// When lists variables and the values they must have; "*" means any
	// non-empty value.
	When map[string]string `json:"when,omitempty"`
	Text Text              `json:"text"`
}

//go:embed domains/*.json
var builtin embed.FS

// Builtin returns the built-in domains: "support" and "smart-speaker".
func Builtin() ([]*Domain, error) {
	var out []*Domain
	for _, name := range []string{"support", "smart-speaker"} {
		d, err := BuiltinDomain(name)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// BuiltinDomain returns one built-in domain by name.
func BuiltinDomain(name string) (*Domain, error) {
	b, err := builtin.ReadFile("domains/" + name + ".json")
	if err != nil {
		return nil, fmt.Errorf("%w: no built-in domain %q", ErrDomain, name)
	}
	return LoadDomain(bytes.NewReader(b))
}

var placeholderRE = regexp.MustCompile(`\{([a-zA-Z0-9_]+)(\|[a-z]+)?\}`)

// LoadDomain reads and checks a domain file.
func LoadDomain(r io.Reader) (*Domain, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var d Domain
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDomain, err)
	}
	if err := d.check(); err != nil {
		return nil, err
	}
	return &d, nil
}

func (d *Domain) check() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrDomain, d.Name, fmt.Sprintf(format, args...))
	}
	if d.Name == "" || d.Language == "" {
		return fmt.Errorf("%w: name and language are required", ErrDomain)
	}
	if d.Fallback[d.Language] == "" {
		return bad("no fallback in %q", d.Language)
	}
	seen := map[string]bool{}
	for _, in := range d.Intents {
		if in.Name == "" || seen[in.Name] {
			return bad("intent name %q empty or repeated", in.Name)
		}
		seen[in.Name] = true
		if len(in.Examples[d.Language]) == 0 {
			return bad("intent %s: no examples in %q", in.Name, d.Language)
		}
		for name, s := range in.Slots {
			switch s.Type {
			case SlotNumber, SlotDuration:
			case SlotEnum:
				if len(s.Values) == 0 {
					return bad("intent %s: enum slot %s has no values", in.Name, name)
				}
			default:
				return bad("intent %s: slot %s: unknown type %q", in.Name, name, s.Type)
			}
			if s.Required && s.Prompt[d.Language] == "" {
				return bad("intent %s: required slot %s has no prompt in %q", in.Name, name, d.Language)
			}
		}
		for _, exs := range in.Examples {
			for _, ex := range exs {
				for _, m := range placeholderRE.FindAllStringSubmatch(ex, -1) {
					if _, ok := in.Slots[m[1]]; !ok {
						return bad("intent %s: example %q names unknown slot %s", in.Name, ex, m[1])
					}
				}
			}
		}
		if in.Action != "" && in.Action != ActionRepeat {
			return bad("intent %s: unknown action %q", in.Name, in.Action)
		}
		if in.Tool != nil {
			if in.Tool.Name == "" || !json.Valid(in.Tool.Parameters) {
				return bad("intent %s: tool needs a name and a JSON schema", in.Name)
			}
		}
		if !slices.ContainsFunc(in.Reply, func(r Reply) bool { return r.Text[d.Language] != "" }) {
			return bad("intent %s: no reply in %q", in.Name, d.Language)
		}
	}
	return nil
}

// text returns t in lang, else in the domain's language.
func (d *Domain) text(t Text, lang string) string {
	if s, ok := t[lang]; ok && s != "" {
		return s
	}
	return t[d.Language]
}

// baseLanguage returns the lower-case primary subtag of a BCP-47 tag.
func baseLanguage(tag string) string {
	l, _, _ := strings.Cut(strings.ToLower(strings.ReplaceAll(tag, "_", "-")), "-")
	return l
}
