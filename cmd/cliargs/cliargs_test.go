package cliargs_test

import (
	"io"
	"slices"
	"testing"

	"github.com/orbitcp/orbit/cmd/cliargs"
	"github.com/orbitcp/orbit/cmd/orbit/app"
	"github.com/urfave/cli/v2"
)

func TestInterspersed(t *testing.T) {
	a := app.New(io.Discard, io.Discard)
	for _, tc := range []struct{ in, want []string }{
		{[]string{"orbit", "cluster", "get", "demo", "-o", "json"}, []string{"orbit", "-o", "json", "cluster", "get", "demo"}},
		{[]string{"orbit", "cluster", "create", "demo", "--cku", "2", "--region", "r", "--wait"}, []string{"orbit", "cluster", "create", "--cku", "2", "--region", "r", "--wait", "demo"}},
		{[]string{"orbit", "--server", "http://x", "cluster", "list"}, []string{"orbit", "--server", "http://x", "cluster", "list"}},
		{[]string{"orbit", "apply", "-f", "-", "--output=yaml"}, []string{"orbit", "--output=yaml", "apply", "-f", "-"}},
		{[]string{"orbit", "cluster", "delete", "--", "-weird"}, []string{"orbit", "cluster", "delete", "--", "-weird"}},
	} {
		if got := cliargs.Interspersed(a, tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("Interspersed(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestMothershipFlagsAfterArguments: the README's production steps put flags after the
// satellite's name.
func TestFlagsAfterArgumentsInASubcommand(t *testing.T) {
	a := &cli.App{Commands: []*cli.Command{{Name: "satellite", Subcommands: []*cli.Command{{Name: "add",
		Flags: []cli.Flag{&cli.StringFlag{Name: "region"}, &cli.BoolFlag{Name: "force"}}}}}}}
	got := cliargs.Interspersed(a, []string{"mothership", "satellite", "add", "eu-west-1a", "--region", "eu-west-1", "--force"})
	want := []string{"mothership", "satellite", "add", "--region", "eu-west-1", "--force", "eu-west-1a"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
