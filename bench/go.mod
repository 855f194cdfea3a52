module github.com/forcehttps/forcehttps/bench

go 1.26.0

replace github.com/forcehttps/forcehttps => ../

require (
	github.com/forcehttps/forcehttps v0.0.0-00010101000000-000000000000
	github.com/google/go-cmp v0.7.0
	github.com/unrolled/secure v1.17.0
)

require (
	golang.org/x/net v0.62.0 // indirect
	golang.org/x/text v0.43.0 // indirect
)
