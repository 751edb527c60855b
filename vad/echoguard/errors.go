package echoguard

import "errors"

// ErrOption reports an option value out of range.
var ErrOption = errors.New("echoguard: invalid option")
