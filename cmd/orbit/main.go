// Command orbit is the Orbit command line. See `orbit --help`.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"github.com/orbitcp/orbit/cmd/cliargs"
	"github.com/orbitcp/orbit/cmd/orbit/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	a := app.New(os.Stdout, os.Stderr)
	if err := a.RunContext(ctx, cliargs.Interspersed(a, os.Args)); err != nil {
		fmt.Fprintln(os.Stderr, "orbit: "+err.Error())
		os.Exit(app.ExitStatus(err))
	}
}
