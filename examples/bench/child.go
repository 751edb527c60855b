package main

import (
	"errors"
	"flag"
	"os"
	"os/exec"
	"runtime"

	"golang.org/x/sys/unix"
)

// Environment of the child processes.
const (
	envChild   = "HARK_BENCH_CHILD"    // the child's job
	envSpeech  = "HARK_BENCH_SPEECH"   // the speech clip directory
	envReplyMs = "HARK_BENCH_REPLY_MS" // the length of the cached reply
	envBench   = "HARK_BENCH_TIME"     // test.benchtime of the per-frame benchmarks
)

// Child jobs.
const (
	childCapacity     = "capacity"
	childFrame        = "frame"
	childScalarSilero = "scalar-silero"
)

// childCommand returns this program as a child running job on one
// goroutine thread (GOMAXPROCS=1), with env added.
func childCommand(cfg config, job string, env ...string) (*exec.Cmd, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1", envChild+"="+job, envSpeech+"="+cfg.speechDir)
	if f := flag.Lookup("test.benchtime"); f != nil {
		cmd.Env = append(cmd.Env, envBench+"="+f.Value.String())
	}
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = os.Stderr
	return cmd, nil
}

// startPinned starts cmd pinned to cpu and, with realtime, under the
// SCHED_FIFO policy. The exec happens on a locked OS thread given that
// affinity and policy, which the child inherits; the thread is then
// discarded (a goroutine that exits while locked takes its thread along).
// It reports which of the two could be set.
func startPinned(cmd *exec.Cmd, cpu int, realtime bool) (pinned, rt bool, err error) {
	type started struct {
		pinned, rt bool
		err        error
	}
	ch := make(chan started, 1)
	go func() {
		runtime.LockOSThread()
		var set unix.CPUSet
		set.Set(cpu)
		var st started
		st.pinned = unix.SchedSetaffinity(0, &set) == nil
		if realtime {
			// SCHED_FIFO gives the child its CPU whenever it has work, as a
			// dedicated core would; the kernel's RT throttling still leaves
			// other processes 5% of it.
			st.rt = unix.SchedSetAttr(0, &unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_FIFO, Priority: 10}, 0) == nil
		}
		st.err = cmd.Start()
		ch <- st
	}()
	st := <-ch
	return st.pinned, st.rt, st.err
}

// childCPU returns the CPU children are pinned to (the last one this
// process may use) and the others.
func childCPU() (cpu int, rest unix.CPUSet, err error) {
	var all unix.CPUSet
	if err := unix.SchedGetaffinity(0, &all); err != nil {
		return 0, rest, err
	}
	cpu = -1
	for i := range 1024 {
		if all.IsSet(i) {
			cpu = i
		}
	}
	if cpu < 0 {
		return 0, rest, errors.New("bench: no CPU in the affinity set")
	}
	rest = all
	rest.Clear(cpu)
	return cpu, rest, nil
}
