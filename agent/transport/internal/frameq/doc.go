// Package frameq is the queue of a peer's decoded audio waiting for its
// session, shared by every transport so that overflow is handled one way.
//
// A transport's reader pushes frames as they arrive and never blocks; the
// session pops them in ReadAudio. When the session falls behind and the
// queue is full, the oldest frame is dropped: the newest audio is what the
// voice-activity detector and the recogniser need to catch up, and a
// reader that blocked would stall keepalives and control messages behind
// it. Drops are summed and reported at most once per interval (the first
// at once), so a session that falls behind for a minute logs a line a
// second, not three thousand.
//
// The samples' storage goes round: the reader fills a Buffer, the session
// holds a popped frame until its next Pop, which hands the storage back for
// the reader's next Buffer, so a steady stream of audio allocates nothing
// (a dropped frame's storage goes back too). Spares is that bounded free
// list of emptied slices, also used for other storage that goes round
// (the WebSocket core's written messages).
package frameq
