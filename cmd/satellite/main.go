// Command satellite runs one Orbit satellite: an embedded NATS leaf node and the operator
// that converges this region's clusters on its Kubernetes. See `satellite run --help`.
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/orbitcp/orbit/cmd/cliargs"
	"github.com/orbitcp/orbit/cmd/logging"
	"github.com/orbitcp/orbit/cmd/metricslisten"
	"github.com/orbitcp/orbit/devstack"
	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/satellite"
)

// version is set at build time (-ldflags "-X main.version=...").
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	app := &cli.App{
		Name:           "satellite",
		Usage:          "Orbit's per-region agent",
		HideVersion:    true,
		Flags:          logging.Flags(),
		Before:         func(c *cli.Context) error { _, err := logging.Setup(c, os.Stderr); return err },
		Commands:       []*cli.Command{runCommand, rackCommand},
		ExitErrHandler: func(*cli.Context, error) {},
	}
	if err := app.RunContext(ctx, cliargs.Interspersed(app, os.Args)); err != nil {
		logging.Exit("satellite", err, 1)
	}
}

var runCommand = &cli.Command{
	Name:  "run",
	Usage: "Run the satellite until stopped",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "name", Usage: "Satellite name, as onboarded with \"mothership satellite add\"", Value: "", Required: true, EnvVars: []string{"ORBIT_SATELLITE_NAME"}},
		&cli.StringFlag{Name: "region", Usage: "Region it serves", Required: true, EnvVars: []string{"ORBIT_SATELLITE_REGION"}},
		&cli.StringFlag{Name: "cloud", Usage: "Cloud it runs on", Value: "aws", EnvVars: []string{"ORBIT_SATELLITE_CLOUD"}},
		&cli.StringSliceFlag{Name: "networks", Usage: "Network types it serves", Value: cli.NewStringSlice("public"), EnvVars: []string{"ORBIT_SATELLITE_NETWORKS"}},
		&cli.IntFlag{Name: "capacity-clusters", Usage: "Most clusters it takes (0: no limit)", EnvVars: []string{"ORBIT_SATELLITE_CAPACITY_CLUSTERS"}},
		&cli.IntFlag{Name: "capacity-brokers", Usage: "Most brokers it takes (0: no limit)", EnvVars: []string{"ORBIT_SATELLITE_CAPACITY_BROKERS"}},
		&cli.StringSliceFlag{Name: "hub", Usage: "Hub leaf-node URL, nats-leaf://host:7422 (repeatable)", Required: true, EnvVars: []string{"ORBIT_HUB"}},
		&cli.StringFlag{Name: "hub-ca", Usage: "CA (PEM) the hub's certificate must be signed by; the hub URLs then speak TLS", EnvVars: []string{"ORBIT_HUB_CA"}},
		&cli.StringFlag{Name: "tls-cert", Usage: "Client certificate (PEM) for a hub that asks for one; reloaded when it changes", EnvVars: []string{"ORBIT_TLS_CERT"}},
		&cli.StringFlag{Name: "tls-key", Usage: "Its private key (PEM)", EnvVars: []string{"ORBIT_TLS_KEY"}},
		&cli.StringFlag{Name: "seed-file", Usage: "File holding the satellite's nkey seed", Required: true, EnvVars: []string{"ORBIT_SEED_FILE"}},
		&cli.StringFlag{Name: "curve-seed-file", Usage: "File holding the satellite's curve key seed (opens its API key credentials)", EnvVars: []string{"ORBIT_CURVE_SEED_FILE"}},
		&cli.StringFlag{Name: "credential-sender", Usage: "The control plane's public curve key (X…, printed by mothership satellite add): only credentials it sealed are opened; this or --credential-sender-file is required with --curve-seed-file", EnvVars: []string{"ORBIT_CREDENTIAL_SENDER"}},
		&cli.StringFlag{Name: "credential-sender-file", Usage: "File holding the control plane's public curve key (written by mothership satellite add)", EnvVars: []string{"ORBIT_CREDENTIAL_SENDER_FILE"}},
		&cli.StringFlag{Name: "data-dir", Usage: "Where the leaf node keeps its mirror", Value: "/var/lib/orbit-satellite", EnvVars: []string{"ORBIT_DATA_DIR"}},
		&cli.StringFlag{Name: "dns-domain", Usage: "DNS zone of the clusters' public names (default <region>.orbit.local)", EnvVars: []string{"ORBIT_DNS_DOMAIN"}},
		&cli.StringFlag{Name: "kubeconfig", Usage: "Kubeconfig (empty: in-cluster configuration)", EnvVars: []string{"KUBECONFIG"}},
		&cli.StringFlag{Name: "image", Usage: "The satellite's own image, run by Kafka pods to learn their zone (default ghcr.io/orbitcp/satellite:<version>)", EnvVars: []string{"ORBIT_SATELLITE_IMAGE"}},
		&cli.BoolFlag{Name: "kafka-admin", Usage: "Speak the Kafka protocol to the Kafka clusters (certificate reloads)", EnvVars: []string{"ORBIT_KAFKA_ADMIN"}},
		&cli.DurationFlag{Name: "credentials-hold", Usage: "After a restored mothership's new hub: how long at least the rebuilt credentials mirror only adds API keys, deleting none missing from it, before it counts as complete once caught up with the hub; cover the mothership's --lease-ttl and one full resync",
			Value: 2 * time.Minute, EnvVars: []string{"ORBIT_CREDENTIALS_HOLD"}},
		metricslisten.Flag,
	},
	Action: func(c *cli.Context) error {
		log, err := logging.Setup(c, os.Stderr)
		if err != nil {
			return err
		}
		var curveSeed []byte
		if path := c.String("curve-seed-file"); path != "" {
			b, err := os.ReadFile(path)
			if err != nil {
				return fmt.Errorf("--curve-seed-file: %w", err)
			}
			curveSeed = []byte(strings.TrimSpace(string(b)))
		}
		sender := c.String("credential-sender")
		if path := c.String("credential-sender-file"); path != "" {
			if sender != "" {
				return fmt.Errorf("--credential-sender and --credential-sender-file: give one")
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return fmt.Errorf("--credential-sender-file: %w", err)
			}
			sender = strings.TrimSpace(string(b))
		}
		if c.Duration("credentials-hold") <= 0 {
			return fmt.Errorf("--credentials-hold: must be positive, got %s", c.Duration("credentials-hold"))
		}
		seed, err := os.ReadFile(c.String("seed-file"))
		if err != nil {
			return fmt.Errorf("--seed-file: %w", err)
		}
		restCfg, err := kubeConfig(c.String("kubeconfig"))
		if err != nil {
			return err
		}
		restCfg.UserAgent = satellite.UserAgent(c.String("name"))
		client, err := kubernetes.NewForConfig(restCfg)
		if err != nil {
			return err
		}
		dyn, err := dynamic.NewForConfig(restCfg)
		if err != nil {
			return err
		}
		hubTLS, err := devstack.HubTLS(c.String("hub-ca"), c.String("tls-cert"), c.String("tls-key"), log)
		if err != nil {
			return err
		}
		sat, err := satellite.New(satellite.Config{HubTLS: hubTLS,
			Name: c.String("name"), Region: c.String("region"), Cloud: c.String("cloud"), Networks: c.StringSlice("networks"),
			Capacity: kv.Capacity{Clusters: int32(c.Int("capacity-clusters")), Brokers: int32(c.Int("capacity-brokers"))},
			StoreDir: filepath.Join(c.String("data-dir"), "nats"), HubURLs: c.StringSlice("hub"),
			Seed: []byte(strings.TrimSpace(string(seed))), CurveSeed: curveSeed, CredentialSender: sender, Kube: client, Dynamic: dyn, Version: version, Log: log,
			Domain: c.String("dns-domain"), Image: c.String("image"), KafkaAdmin: c.Bool("kafka-admin"),
			CredentialsHold: c.Duration("credentials-hold"),
		})
		if err != nil {
			return err
		}
		if _, err := metricslisten.Serve(c.Context, c.String("metrics-listen"), map[string]http.Handler{"/metrics": satellite.MetricsHandler()}, log); err != nil {
			return err
		}
		log.Info("satellite starting", "name", c.String("name"), "hub", c.StringSlice("hub"))
		return sat.Run(c.Context)
	},
}

// rackCommand is what a Kafka broker's init container runs: it writes broker.rack from its
// node's zone label, with the pod's own service account.
var rackCommand = &cli.Command{
	Name:  "rack",
	Usage: "Write a Kafka broker's rack (its node's zone) to a properties file",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "node", Usage: "Node the pod runs on", Required: true, EnvVars: []string{"NODE_NAME"}},
		&cli.StringFlag{Name: "out", Usage: "File to write", Required: true, EnvVars: []string{"ORBIT_RACK_FILE"}},
		&cli.StringFlag{Name: "kubeconfig", Usage: "Kubeconfig (empty: in-cluster configuration)", EnvVars: []string{"KUBECONFIG"}},
	},
	Action: func(c *cli.Context) error {
		if _, err := logging.Setup(c, os.Stderr); err != nil {
			return err
		}
		restCfg, err := kubeConfig(c.String("kubeconfig"))
		if err != nil {
			return err
		}
		client, err := kubernetes.NewForConfig(restCfg)
		if err != nil {
			return err
		}
		return satellite.WriteRack(c.Context, client, c.String("node"), c.String("out"))
	},
}

func kubeConfig(path string) (*rest.Config, error) {
	if path == "" {
		cfg, err := rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("no --kubeconfig and not in a cluster: %w", err)
		}
		return cfg, nil
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, fmt.Errorf("--kubeconfig: %w", err)
	}
	return cfg, nil
}
