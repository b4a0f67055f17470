package main

import "context"

func runFleet(ctx context.Context, o options) ([]Result, error)    { return nil, nil }
func runBaseline(ctx context.Context, o options) ([]Result, error) { return nil, nil }
