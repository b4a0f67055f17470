package kafkaconf

//go:generate go run ./gen -o keys_gen.go
