// Package cliargs lets flags follow positional arguments in Orbit's commands, which
// urfave/cli does not do by itself.
package cliargs

import (
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// Interspersed reorders arguments so that flags may follow positional arguments, as in
// `orbit cluster get demo -o json` (urfave/cli stops parsing flags at the first positional
// argument, and accepts the application's own flags only before the command). Application
// flags move to the front, command flags to just after the command path, positional
// arguments keep their order at the end.
func Interspersed(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	var appFlags, path, cmdFlags, pos []string
	var flags []cli.Flag
	cmds := app.Commands
	inPath := true
	for i := 1; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i:]...)
			break
		}
		if strings.HasPrefix(a, "-") && a != "-" {
			group, known := &cmdFlags, flags
			if hasFlag(app.Flags, a) {
				group, known = &appFlags, app.Flags
			}
			*group = append(*group, a)
			if takesValue(known, a) && i+1 < len(args) {
				*group = append(*group, args[i+1])
				i++
			}
			continue
		}
		if inPath {
			if sub := findCommand(cmds, a); sub != nil {
				path = append(path, a)
				flags = sub.Flags
				cmds = sub.Subcommands
				continue
			}
			inPath = false
		}
		pos = append(pos, a)
	}
	out := append([]string{args[0]}, appFlags...)
	out = append(out, path...)
	out = append(out, cmdFlags...)
	return append(out, pos...)
}

func hasFlag(flags []cli.Flag, arg string) bool {
	name, _, _ := strings.Cut(strings.TrimLeft(arg, "-"), "=")
	for _, f := range flags {
		if slices.Contains(f.Names(), name) {
			return true
		}
	}
	return false
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}

func takesValue(flags []cli.Flag, arg string) bool {
	name := strings.TrimLeft(arg, "-")
	if strings.Contains(name, "=") {
		return false
	}
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				_, isBool := f.(*cli.BoolFlag)
				return !isBool
			}
		}
	}
	return false
}
