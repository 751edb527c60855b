// Package dialogue is an offline dialogue engine: it stands in for an LLM
// when none is configured, so a Hark agent works with no account and no
// network. It is not a language model. It knows a fixed set of intents, each
// with example phrases, slots and template replies, loaded from domain files
// (JSON); it matches what the user said against the examples, fills the
// slots, and answers from the templates.
//
// Matching is fuzzy so that it survives speech recognition: words are
// compared by spelling distance and by consonant skeleton ("ardor" still
// matches "order"), weighted by how much each word tells intents apart, and
// numbers spoken as words become digits ("one two three four" is 1234,
// "twenty five" is 25, and "one to three for" is 1234 when it sits among
// digits).
//
// An Engine implements pipeline.LLM, so the session drives it like any model:
// an intent backed by a tool emits the same pipeline.ToolCall delta an LLM
// would ("where is my order 1234" calls lookup_order {"order_id":"1234"}),
// and when the conversation then carries the tool's result (a RoleTool
// message), the engine renders the intent's reply from the result's JSON
// fields. A missing required slot makes it ask for the slot; the next user
// turn fills it. Nothing matched gives the domain's fallback reply. An intent
// with the "repeat" action ("say that again") says the last reply again in
// full, also when the user cut it off. Replies come in the request's language
// where the domain has text for it.
//
// A domain file is JSON (see Domain for every field):
//
//	{"name": "support", "language": "en",
//	 "fallback": {"en": "Sorry, I did not catch that.", "es": "Perdón, no le entendí."},
//	 "intents": [{
//	   "name": "order_status",
//	   "examples": {"en": ["where is my order {order_id}", "track my order {order_id}"]},
//	   "slots": {"order_id": {"type": "number", "required": true, "min_digits": 3,
//	             "prompt": {"en": "What is your order number?"}}},
//	   "tool": {"name": "lookup_order", "description": "...", "parameters": {...},
//	            "arguments": {"order_id": "{order_id}"}},
//	   "reply": [{"when": {"status": "shipped"}, "text": {"en": "Order {order_id|digits} ships on {eta}."}},
//	             {"text": {"en": "Order {order_id|digits} is {status}."}}]}]}
//
// Two domains are built in (see Builtin): "support", an e-commerce support
// line (order status, shipping times, returns, talking to a human), and
// "smart-speaker" (time, timers, lights).
package dialogue
