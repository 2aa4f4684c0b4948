package fleet

import (
	"context"
	"sync"

	"github.com/shepherd-db/shepherd/engine"
)

// Each opens each target's database, at most Concurrency at once, and calls
// fn on it; the errors are in the targets' order (nil where fn returned
// nil), their credentials masked.
func (f *Fleet) Each(ctx context.Context, targets []Target, fn func(context.Context, Target, *engine.Engine) error) []error {
	errs := make([]error, len(targets))
	sem := make(chan struct{}, max(f.Concurrency, 1))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			err := func() error {
				eng, err := engine.Open(ctx, t.DSN())
				if err != nil {
					return err
				}
				defer eng.Close()
				return fn(ctx, t, eng)
			}()
			if err != nil {
				errs[i] = &targetError{target: t.Name, msg: t.Scrub(engine.ErrorText(err)), err: err}
			}
		}()
	}
	wg.Wait()
	return errs
}

// TargetStatus is the plans recorded in one target's database.
type TargetStatus struct {
	Target Target
	Plans  []engine.PlanStatus
	// Err is why the target's state could not be read.
	Err error
}

// Status reads every target's recorded plans.
func (f *Fleet) Status(ctx context.Context, targets []Target) []TargetStatus {
	out := make([]TargetStatus, len(targets))
	errs := f.Each(ctx, targets, func(ctx context.Context, t Target, eng *engine.Engine) error {
		plans, err := eng.Status(ctx)
		out[t.Pos(targets)].Plans = plans
		return err
	})
	for i, t := range targets {
		out[i].Target, out[i].Err = t, errs[i]
	}
	return out
}

// Pos is the target's place among targets.
func (t Target) Pos(targets []Target) int {
	for i, o := range targets {
		if o.Name == t.Name {
			return i
		}
	}
	return -1
}
