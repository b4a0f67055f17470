package satellite

import (
	"bytes"
	"context"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orbitcp/orbit/kv"
)

// REST API keys of ksqlDB and Connect, level-based: the credentials mirror holds this
// satellite's sealed REST users of each worker cluster (<satellite>.<product>.<cluster>.<key>);
// on every pass the satellite opens them with its curve key and makes the cluster's
// rest-users Secret hold exactly their lines, no more: a revoked key's line goes, a line
// someone added or edited is rewritten (the Secret informer queues the cluster at once).
// The login modules read the users file once per process (Jetty's PropertyUserStore and
// Connect's PropertyFileLoginModule both cache it), so the workers' restart hash covers the
// set of users: a key created or revoked rolls the workers, one pod at a time. The file's
// content is never logged.

// restUsers is what a worker cluster's rest-users Secret must hold.
type restUsers struct {
	// file is users.properties: one "user: password[,role]" line per key, sorted.
	file []byte
	// ids are the users, sorted.
	ids []string
	// restart is what of the file the workers' restart hash covers: the set of users, and
	// for Connect the user no request can name (workers that started without it admit
	// every request until they restart). "" for a ksqlDB cluster without users, so that
	// its workers hash as they did before REST keys existed.
	restart string
}

// restUsers opens a ksqlDB or Connect cluster's REST credentials; nil for a Kafka cluster
// or a satellite without credentials (which has no users to give).
func (op *operator) restUsers(ctx context.Context, o *PSCObject) (*restUsers, error) {
	if op.credentials == nil || op.curve == nil || kv.RESTMechanism(o.Spec.Product) == "" {
		return nil, nil
	}
	creds, err := op.openCredentials(ctx, o.Spec.Product, o.Name)
	if err != nil {
		return nil, err
	}
	u := renderRESTUsers(o.Spec.Product, creds, nil)
	if op.credentialHold.complete(ctx) {
		return u, nil
	}
	// A mirror rebuilt from a new hub may still lack live keys: until it is complete, the
	// Secret keeps the lines of users missing from it.
	cur, err := op.kube.secrets.Secrets(Namespace(o.Name)).Get(restUsersSecret)
	if apierrors.IsNotFound(err) {
		return u, nil
	}
	if err != nil {
		return nil, err
	}
	kept := keptRESTUsers(cur.Data[restUsersFile], creds)
	if len(kept) == 0 {
		return u, nil
	}
	return renderRESTUsers(o.Spec.Product, creds, kept), nil
}

// keptRESTUsers are the lines of a users file whose users creds lacks: user → the line.
func keptRESTUsers(file []byte, creds map[string]*keyCredential) map[string]string {
	kept := map[string]string{}
	for line := range strings.Lines(string(file)) {
		line = strings.TrimSuffix(line, "\n")
		user, _, ok := strings.Cut(line, ": ")
		if !ok || strings.HasPrefix(line, "#") || strings.Contains(user, "\\") || creds[user] != nil {
			continue // a comment, connectRefuseAll, or a user of the mirror
		}
		kept[user] = line + "\n"
	}
	return kept
}

// renderRESTUsers renders the users file of product's login module. ksqlDB (Jetty's
// PropertyFileLoginModule) reads "user: MD5:<hex>,<role>" and admits users with the role
// in authentication.roles; Connect's PropertyFileLoginModule reads "user: password" and
// compares the whole value, so its lines carry no role, after connectRefuseAll.
// kept are lines kept as they are (user → line) for users creds lacks.
func renderRESTUsers(product kv.Product, creds map[string]*keyCredential, kept map[string]string) *restUsers {
	u := &restUsers{ids: slices.Sorted(maps.Keys(creds))}
	for id := range kept {
		u.ids = append(u.ids, id)
	}
	slices.Sort(u.ids)
	var b strings.Builder
	u.restart = strings.Join(u.ids, ",")
	if product == kv.ProductConnect {
		b.WriteString(connectRefuseAll)
		u.restart = "refuse-all;" + u.restart
	}
	for _, id := range u.ids {
		if line, ok := kept[id]; ok {
			b.WriteString(line)
			continue
		}
		b.WriteString(id + ": " + creds[id].cred.Password)
		if product == kv.ProductKsqlDB {
			b.WriteString("," + restRole)
		}
		b.WriteString("\n")
	}
	u.file = []byte(b.String())
	return u
}

// connectRefuseAll opens every Connect users file. Connect's PropertyFileLoginModule admits
// every request when its file holds no user at all, so the file always holds this one,
// which no request can name: the user of a basic-auth header ends at its first colon
// (RFC 7617; Connect's JaasBasicAuthFilter splits there), and this user's name holds one
// (escaped, as java.util.Properties reads it).
const connectRefuseAll = "# Connect admits every request when this file has no user: this one no request can name.\n" +
	"orbit\\:refuse-all: -\n"

// applyRESTUsers makes the rest-users Secret hold exactly users' file, creating it if need
// be. It reports whether it wrote anything.
func applyRESTUsers(ns string, labels map[string]string, users *restUsers) func(context.Context, *kube) (bool, error) {
	want := map[string][]byte{restUsersFile: users.file}
	return func(ctx context.Context, k *kube) (bool, error) {
		cur, err := k.secrets.Secrets(ns).Get(restUsersSecret)
		if apierrors.IsNotFound(err) {
			cur, err = k.client.CoreV1().Secrets(ns).Get(ctx, restUsersSecret, metav1.GetOptions{})
		}
		if apierrors.IsNotFound(err) {
			secret := &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Name: restUsersSecret, Namespace: ns, Labels: labels},
				Type:       corev1.SecretTypeOpaque,
				Data:       want,
			}
			_, err = k.client.CoreV1().Secrets(ns).Create(ctx, secret, metav1.CreateOptions{FieldManager: FieldManager})
			return err == nil, err
		}
		if err != nil {
			return false, err
		}
		if len(cur.Data) == 1 && bytes.Equal(cur.Data[restUsersFile], users.file) && len(cur.StringData) == 0 && labelsHold(cur.Labels, labels) {
			return false, nil
		}
		next := cur.DeepCopy()
		next.Data, next.StringData = want, nil
		if next.Labels == nil {
			next.Labels = map[string]string{}
		}
		maps.Copy(next.Labels, labels)
		_, err = k.client.CoreV1().Secrets(ns).Update(ctx, next, metav1.UpdateOptions{FieldManager: FieldManager})
		return err == nil, err
	}
}

// labelsHold reports whether have carries every label of want.
func labelsHold(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}
