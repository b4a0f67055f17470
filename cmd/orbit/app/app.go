// Package app is the orbit command line: it puts desired cluster specs to the mothership's
// API and watches them converge. It only reads and writes through the API.
package app

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/orbitcp/orbit/cmd/logging"
	"github.com/orbitcp/orbit/mothership/api"
)

// DefaultServer is where mothership dev listens.
const DefaultServer = "http://127.0.0.1:8080"

// New returns the orbit application writing to out and errOut.
func New(out, errOut io.Writer) *cli.App {
	return &cli.App{
		Name:                 "orbit",
		Usage:                "Manage Kafka, ksqlDB and Kafka Connect clusters on an Orbit control plane",
		Writer:               out,
		ErrWriter:            errOut,
		HideVersion:          true,
		EnableBashCompletion: true,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "server", Usage: "Mothership API URL", Value: DefaultServer, EnvVars: []string{"ORBIT_SERVER"}},
			&cli.StringFlag{Name: "api-key", Usage: "API key", EnvVars: []string{"ORBIT_API_KEY"}},
			&cli.StringFlag{Name: "ca-file", Usage: "CA (PEM) to verify an https server with", EnvVars: []string{"ORBIT_CA_FILE"}},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "Output format: table, json or yaml", Value: "table", EnvVars: []string{"ORBIT_OUTPUT"}},
		}, logging.Flags()...),
		// The logger is built here, and installed by main (not here: tests run the app in
		// process), which reports the final error with it: in JSON mode as a JSON object.
		Before: func(c *cli.Context) error {
			log, err := logging.New(c.String("log-format"), c.String("log-level"), errOut)
			if err != nil {
				return usageError{err}
			}
			c.App.Metadata = map[string]any{MetadataLogger: log}
			return nil
		},
		Commands: []*cli.Command{clusterCommand, applyCommand, satelliteCommand, controllerCommand, apikeyCommand, profileCommand, usageCommand, kafkaCommand, rolloutCommand, windowCommand},
		// Errors are printed once, by the caller of Run.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return usageError{err}
		},
	}
}

// MetadataLogger is the App.Metadata key of the logger the flags ask for.
const MetadataLogger = "logger"

// usageError is a command-line mistake (exit status 2).
type usageError struct{ error }

// ExitStatus maps an error from Run to the process exit status.
func ExitStatus(err error) int {
	var ue usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

func client(c *cli.Context) (*api.Client, error) {
	hc := &http.Client{Timeout: 30 * time.Second}
	if ca := c.String("ca-file"); ca != "" {
		pemBytes, err := os.ReadFile(ca)
		if err != nil {
			return nil, fmt.Errorf("--ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemBytes) {
			return nil, fmt.Errorf("--ca-file: %s holds no CA certificate", ca)
		}
		hc.Transport = &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}}
	}
	return api.NewClient(c.String("server"), c.String("api-key"), hc)
}

func outputFormat(c *cli.Context) (string, error) {
	switch f := c.String("output"); f {
	case "table", "json", "yaml":
		return f, nil
	default:
		return "", usageError{fmt.Errorf("--output: %q is not one of table, json, yaml", f)}
	}
}

// oneName returns the single NAME argument.
func oneName(c *cli.Context) (string, error) {
	if c.NArg() != 1 {
		return "", usageError{fmt.Errorf("%s needs exactly one NAME (got %d arguments)", c.Command.FullName(), c.NArg())}
	}
	return c.Args().First(), nil
}
