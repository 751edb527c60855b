package aectest

import "time"

// Timeline lays out the standard scene of 26 seconds: the far end alone
// for 10 s (the canceller converges; ERLE counts from its second second),
// the near end alone for 3 s (single-talk loss), both at once for 5 s
// (double talk: loss and divergence), and the far end alone again for 4 s
// (did the filter survive?). Clips are taken in turn from far and near,
// 0.3 s apart.
func Timeline(far, near []Clip) (farP, nearP []Placement, length time.Duration) {
	const gap = 300 * time.Millisecond
	fi, ni := 0, 0
	// lay places clips from list, in turn, from one time until another.
	lay := func(list []Clip, i *int, from, until time.Duration) []Placement {
		var ps []Placement
		for at := from; at < until; {
			c := list[*i%len(list)]
			*i++
			ps = append(ps, Placement{Clip: c, Start: at})
			at += c.Duration() + gap
		}
		return ps
	}
	s := time.Second
	farP = append(farP, lay(far, &fi, gap, 10*s)...)
	nearP = append(nearP, lay(near, &ni, 11*s, 14*s)...)
	farP = append(farP, lay(far, &fi, 14500*time.Millisecond, 19500*time.Millisecond)...)
	nearP = append(nearP, lay(near, &ni, 15*s, 19*s)...)
	farP = append(farP, lay(far, &fi, 20500*time.Millisecond, 24*s)...)
	return farP, nearP, 26 * s
}
