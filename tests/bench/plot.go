package main

func plotLatency(path string, results []Result) error { return nil }
