package db

import "context"

// Set is one service's view of the store: Q is the interface of the queries that service
// may run (the writes of the tables it owns, the reads it needs), defined by its query set
// package under db/, which alone can build a Set (it needs the internal query layer).
type Set[Q any] struct {
	store *Store
	who   Writer
	view  func(*Tx) Q
}

// NewSet builds a set over s whose transactions run as who; view narrows a transaction's
// queries to Q.
func NewSet[Q any](s *Store, who Writer, view func(*Tx) Q) Set[Q] {
	return Set[Q]{store: s, who: who, view: view}
}

// InTx runs fn in one transaction (see Store.InTx).
func (s Set[Q]) InTx(ctx context.Context, fn func(q Q) error) error {
	return s.store.InTx(ctx, s.who, func(tx *Tx) error { return fn(s.view(tx)) })
}

// Read returns the set's queries outside any transaction.
func (s Set[Q]) Read() Q { return s.view(s.store.Reader()) }

// Store returns the store the set is over (its epoch, commit signal, dialect).
func (s Set[Q]) Store() *Store { return s.store }
