package engine

import (
	"sync"
)

// Pauser lets an operator hold a batched phase (backfill, switch-writes'
// catch-up, rename's copy, clean) between two batches. The batch loop asks
// it before each batch: no transaction is open and no row lock is held while
// it waits, only the runner lock, and the checkpoint is the last finished
// batch.
type Pauser interface {
	// Hold returns nil when the loop may go on, or a channel that is closed
	// when the operator resumes.
	Hold() <-chan struct{}
}

// PauseSwitch is a Pauser that another goroutine (the TUI) flips. Pause and
// Resume never block.
type PauseSwitch struct {
	mu   sync.Mutex
	held chan struct{}
}

// Pause holds the batch loop before its next batch.
func (p *PauseSwitch) Pause() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.held == nil {
		p.held = make(chan struct{})
	}
}

// Resume lets a held batch loop go on.
func (p *PauseSwitch) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.held != nil {
		close(p.held)
		p.held = nil
	}
}

// Paused reports whether Pause was called without a Resume since.
func (p *PauseSwitch) Paused() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.held != nil
}

// Hold implements Pauser.
func (p *PauseSwitch) Hold() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.held
}
