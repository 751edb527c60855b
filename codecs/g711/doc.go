// Package g711 converts between 16-bit linear PCM and ITU-T G.711 μ-law and
// A-law, the 8-bit companding used on telephone lines (Twilio Media Streams
// carry 8 kHz μ-law).
//
// Encoding first rounds the 16-bit sample to the 14-bit (μ-law) or 13-bit
// (A-law) linear range of G.711, then applies the segment tables; decoding
// returns the G.711 reconstruction value scaled to 16 bits. Both directions
// match sox bit for bit over every input (see testdata). Every byte is a
// valid code, so decoding cannot fail. All functions append to dst and
// allocate only when dst lacks capacity.
package g711
