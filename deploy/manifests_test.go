package deploy_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/flamingock/flamingock-go/audit/sqlite"
	"github.com/flamingock/flamingock-go/cli"
	flamingock "github.com/flamingock/flamingock-go/runtime"
	"github.com/flamingock/flamingock-go/targets"
)

// The subset of the Kubernetes API the manifests use. Decoding is strict:
// a field these types do not know (a misspelt key, a field at the wrong
// level) fails the test.
type manifest struct {
	APIVersion string     `yaml:"apiVersion"`
	Kind       string     `yaml:"kind"`
	Metadata   objectMeta `yaml:"metadata"`
	Spec       struct {
		// Job
		BackoffLimit            *int `yaml:"backoffLimit"`
		ActiveDeadlineSeconds   *int `yaml:"activeDeadlineSeconds"`
		TTLSecondsAfterFinished *int `yaml:"ttlSecondsAfterFinished"`
		// Deployment
		Replicas *int `yaml:"replicas"`
		Selector *struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		Template struct {
			Metadata objectMeta `yaml:"metadata"`
			Spec     podSpec    `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type objectMeta struct {
	Name   string            `yaml:"name"`
	Labels map[string]string `yaml:"labels"`
}

type podSpec struct {
	RestartPolicy   string `yaml:"restartPolicy"`
	SecurityContext *struct {
		RunAsNonRoot *bool `yaml:"runAsNonRoot"`
		RunAsUser    *int  `yaml:"runAsUser"`
	} `yaml:"securityContext"`
	InitContainers []container `yaml:"initContainers"`
	Containers     []container `yaml:"containers"`
}

type container struct {
	Name    string   `yaml:"name"`
	Image   string   `yaml:"image"`
	Command []string `yaml:"command"`
	Args    []string `yaml:"args"`
	Env     []struct {
		Name      string `yaml:"name"`
		Value     string `yaml:"value"`
		ValueFrom *struct {
			SecretKeyRef *struct {
				Name string `yaml:"name"`
				Key  string `yaml:"key"`
			} `yaml:"secretKeyRef"`
		} `yaml:"valueFrom"`
	} `yaml:"env"`
	Ports []struct {
		ContainerPort int `yaml:"containerPort"`
	} `yaml:"ports"`
	ReadinessProbe *struct {
		HTTPGet *struct {
			Path string `yaml:"path"`
			Port int    `yaml:"port"`
		} `yaml:"httpGet"`
	} `yaml:"readinessProbe"`
	Resources struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	SecurityContext *struct {
		AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
		ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
	} `yaml:"securityContext"`
}

// The example application: its image and the binary in it, which mounts
// the operations commands under "flamingock".
const (
	appImage  = "ghcr.io/acme/shop:1.4.2"
	appBinary = "/app/shop"
	// defaultLockWaitSeconds is the runner's default lock wait (2 minutes).
	defaultLockWaitSeconds = 120
)

func load(t *testing.T, path string) manifest {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var m manifest
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		t.Fatalf("%s: want one document, found more (or: %v)", path, err)
	}
	return m
}

// checkContainer checks what every container of the examples must have: the
// application's pinned image, the database secret, and a locked-down
// security context.
func checkContainer(t *testing.T, where string, c container) {
	t.Helper()
	if c.Image != appImage {
		t.Errorf("%s: image %q, want the application's pinned image %q", where, c.Image, appImage)
	}
	if len(c.Command) == 0 || c.Command[0] != appBinary {
		t.Errorf("%s: command %q, want it to start with %s", where, c.Command, appBinary)
	}
	found := false
	for _, e := range c.Env {
		if e.Name == "DATABASE_URL" && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil &&
			e.ValueFrom.SecretKeyRef.Name == "shop-database" && e.ValueFrom.SecretKeyRef.Key == "url" {
			found = true
		}
	}
	if !found {
		t.Errorf("%s: no DATABASE_URL from secret shop-database/url", where)
	}
	if c.Resources.Limits["memory"] == "" || c.Resources.Requests["cpu"] == "" {
		t.Errorf("%s: resources %+v, want a memory limit and a cpu request", where, c.Resources)
	}
	sc := c.SecurityContext
	if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Errorf("%s: securityContext %+v, want allowPrivilegeEscalation false and readOnlyRootFilesystem true", where, sc)
	}
}

func checkPodSecurity(t *testing.T, where string, p podSpec) {
	t.Helper()
	sc := p.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser == 0 {
		t.Errorf("%s: pod securityContext %+v, want runAsNonRoot and a non-zero runAsUser", where, sc)
	}
}

// operationsArgs returns what follows the binary in a command that runs a
// mounted operations command, failing unless it is "flamingock <sub> ...".
func operationsArgs(t *testing.T, where string, c container, sub string) []string {
	t.Helper()
	args := append(append([]string(nil), c.Command[1:]...), c.Args...)
	if len(args) < 2 || args[0] != "flamingock" || args[1] != sub {
		t.Fatalf("%s: runs %q, want %s flamingock %s", where, args, appBinary, sub)
	}
	return args
}

func TestJob(t *testing.T) {
	const path = "kubernetes/job.yaml"
	m := load(t, path)
	if m.APIVersion != "batch/v1" || m.Kind != "Job" {
		t.Fatalf("%s: %s %s, want batch/v1 Job", path, m.APIVersion, m.Kind)
	}
	s := m.Spec
	if s.BackoffLimit == nil || *s.BackoffLimit > 1 {
		t.Errorf("%s: backoffLimit %v, want it set to at most 1", path, s.BackoffLimit)
	}
	if s.ActiveDeadlineSeconds == nil || *s.ActiveDeadlineSeconds <= defaultLockWaitSeconds {
		t.Errorf("%s: activeDeadlineSeconds %v, want it longer than the lock wait (%ds)", path, s.ActiveDeadlineSeconds, defaultLockWaitSeconds)
	}
	pod := s.Template.Spec
	if pod.RestartPolicy != "Never" {
		t.Errorf("%s: restartPolicy %q, want Never (the Job's backoffLimit does the retrying)", path, pod.RestartPolicy)
	}
	checkPodSecurity(t, path, pod)
	if len(pod.Containers) != 1 || len(pod.InitContainers) != 0 {
		t.Fatalf("%s: %d containers and %d init containers, want 1 and 0", path, len(pod.Containers), len(pod.InitContainers))
	}
	c := pod.Containers[0]
	checkContainer(t, path+": container "+c.Name, c)
	if v := m.Metadata.Labels["app.kubernetes.io/version"]; !strings.HasSuffix(c.Image, ":"+v) || !strings.HasSuffix(m.Metadata.Name, strings.ReplaceAll(v, ".", "-")) {
		t.Errorf("%s: version label %q, name %q and image %q disagree", path, v, m.Metadata.Name, c.Image)
	}
	args := operationsArgs(t, path, c, "apply")

	// The Job's command applies the pipeline, and a second Job of the
	// same release finds nothing to do.
	db := filepath.Join(t.TempDir(), "shop.db")
	var applied atomic.Int64
	for i := range 2 {
		if code, out := execute(t, db, &applied, args); code != 0 {
			t.Fatalf("%s: run %d of %q exited %d:\n%s", path, i+1, args, code, out)
		}
	}
	if n := applied.Load(); n != 1 {
		t.Errorf("the change ran %d times, want once", n)
	}
}

func TestDeploymentWithInitContainer(t *testing.T) {
	const path = "kubernetes/deployment.yaml"
	m := load(t, path)
	if m.APIVersion != "apps/v1" || m.Kind != "Deployment" {
		t.Fatalf("%s: %s %s, want apps/v1 Deployment", path, m.APIVersion, m.Kind)
	}
	s := m.Spec
	if s.Replicas == nil || *s.Replicas < 2 {
		t.Errorf("%s: replicas %v, want several (the example shows replicas starting at once)", path, s.Replicas)
	}
	if s.Selector == nil || len(s.Selector.MatchLabels) == 0 {
		t.Fatalf("%s: no selector", path)
	}
	for k, v := range s.Selector.MatchLabels {
		if s.Template.Metadata.Labels[k] != v {
			t.Errorf("%s: selector %s=%s does not match the pod template's labels %v", path, k, v, s.Template.Metadata.Labels)
		}
	}
	pod := s.Template.Spec
	if pod.RestartPolicy != "" && pod.RestartPolicy != "Always" {
		t.Errorf("%s: restartPolicy %q: a Deployment allows only Always", path, pod.RestartPolicy)
	}
	checkPodSecurity(t, path, pod)
	if len(pod.InitContainers) != 1 || len(pod.Containers) != 1 {
		t.Fatalf("%s: %d init containers and %d containers, want 1 and 1", path, len(pod.InitContainers), len(pod.Containers))
	}
	initC, app := pod.InitContainers[0], pod.Containers[0]
	checkContainer(t, path+": init container "+initC.Name, initC)
	checkContainer(t, path+": container "+app.Name, app)
	if !reflect.DeepEqual(initC.Env, app.Env) {
		t.Errorf("%s: the init container's env %+v differs from the application's %+v: they must reach the same database", path, initC.Env, app.Env)
	}
	if app.ReadinessProbe == nil || app.ReadinessProbe.HTTPGet == nil || len(app.Ports) == 0 || app.ReadinessProbe.HTTPGet.Port != app.Ports[0].ContainerPort {
		t.Errorf("%s: the application's readiness probe %+v does not probe its port %+v", path, app.ReadinessProbe, app.Ports)
	}
	args := operationsArgs(t, path, initC, "apply")

	// Every replica's init container starts at once against one store:
	// each exits 0, and the change runs once.
	replicas := *s.Replicas
	db := filepath.Join(t.TempDir(), "shop.db")
	var applied atomic.Int64
	codes := make([]int, replicas)
	outs := make([]string, replicas)
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Go(func() { codes[i], outs[i] = execute(t, db, &applied, args) })
	}
	wg.Wait()
	for i, code := range codes {
		if code != 0 {
			t.Errorf("replica %d: %q exited %d:\n%s", i, args, code, outs[i])
		}
	}
	if n := applied.Load(); n != 1 {
		t.Errorf("with %d replicas starting at once the change ran %d times, want once", replicas, n)
	}
	// The deploy gate of docs/deployment.md passes once they are done.
	if code, out := execute(t, db, &applied, []string{"flamingock", "validate"}); code != 0 {
		t.Errorf("flamingock validate exited %d after the init containers:\n%s", code, out)
	}
}

// execute runs args as the example application would: its command tree
// with the operations commands mounted under "flamingock", over a runner
// whose audit trail is the SQLite file db. The application's one change
// counts its runs in applied.
func execute(t *testing.T, db string, applied *atomic.Int64, args []string) (int, string) {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	counter := flamingock.TypeOf[*atomic.Int64]()
	change := flamingock.Change{
		ID: "create-orders", Order: "001", Author: "shop", Recovery: flamingock.RecoveryManual, Checksum: "sha256:orders",
		Source: flamingock.Position{File: "changes/orders.go", Line: 12},
		Needs:  []reflect.Type{counter},
		Apply: flamingock.ChangeFunc(func(_ context.Context, d *targets.Deps) error {
			n, err := targets.Resolve[*atomic.Int64](d)
			if err != nil {
				return err
			}
			n.Add(1)
			return nil
		}),
	}
	runner, err := flamingock.New(
		flamingock.NewPipeline(flamingock.Stage{Name: "shop/changes", Changes: []flamingock.Change{change}}),
		flamingock.WithAuditStore(store),
		flamingock.WithDependency(applied),
		flamingock.WithLogger(slog.New(slog.DiscardHandler)),
	)
	if err != nil {
		t.Fatal(err)
	}
	root := &cobra.Command{Use: "shop", SilenceUsage: true}
	root.AddCommand(cli.Command(runner))
	var out bytes.Buffer
	code := cli.Execute(ctx, root, args, strings.NewReader(""), &out, &out)
	return code, out.String()
}

// TestDocsLinkTheManifests keeps docs/deployment.md pointing at every
// manifest this directory holds.
func TestDocsLinkTheManifests(t *testing.T) {
	doc, err := os.ReadFile("../docs/deployment.md")
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("kubernetes/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests found (%v)", err)
	}
	for _, f := range files {
		if !bytes.Contains(doc, []byte("../deploy/"+f)) {
			t.Errorf("docs/deployment.md does not link ../deploy/%s", f)
		}
	}
}
