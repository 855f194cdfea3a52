package main

import "flag"

// parseInterspersed parses args with fs, letting flags come before,
// between and after the positional arguments ("check example.com --json",
// "apps list --admin URL"), and returns the positional arguments in
// order. After "--" every argument is positional. On an error, it
// returns the positional arguments read so far: after -h, the command
// they name tells which help to print.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return pos, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}
