package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
)

// server is the PostgreSQL server under test and the wire counter in front
// of it.
type server struct {
	url  string
	wire *wireCounter
}

// conn says how a system's connections reach the server: directly (timed
// passes) or through the wire counter (counting passes), and which tracer
// sees their statements.
type conn struct {
	schema  string
	tracer  *tracer
	viaWire bool
	// lazy leaves connecting to the first statement, as a process that
	// has just started does: a fresh start times it.
	lazy bool
}

func (s *server) connConfig(c conn) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(s.url)
	if err != nil {
		return nil, fmt.Errorf("parse -url %q: %w", s.url, err)
	}
	s.route(cfg, c)
	return cfg, nil
}

func (s *server) route(cfg *pgx.ConnConfig, c conn) {
	cfg.RuntimeParams["search_path"] = c.schema
	cfg.Tracer = c.tracer
	if c.viaWire {
		host, port, _ := net.SplitHostPort(s.wire.addr())
		p, _ := strconv.ParseUint(port, 10, 16)
		cfg.Host, cfg.Port = host, uint16(p)
		cfg.Fallbacks = nil
	}
}

// pool opens a pgx pool for c with one connection established, unless
// c.lazy.
func (s *server) pool(ctx context.Context, c conn) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(s.url)
	if err != nil {
		return nil, fmt.Errorf("parse -url %q: %w", s.url, err)
	}
	s.route(cfg.ConnConfig, c)
	p, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if c.lazy {
		return p, nil
	}
	if err := p.Ping(ctx); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// db opens a database/sql handle through pgx's stdlib driver for c, with
// one connection established, unless c.lazy.
func (s *server) db(ctx context.Context, c conn) (*sql.DB, error) {
	cfg, err := s.connConfig(c)
	if err != nil {
		return nil, err
	}
	db := stdlib.OpenDB(*cfg)
	if c.lazy {
		return db, nil
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// exec runs a statement on a short-lived connection outside any system.
func (s *server) exec(ctx context.Context, sql string) error {
	c, err := pgx.Connect(ctx, s.url)
	if err != nil {
		return err
	}
	defer c.Close(context.Background())
	_, err = c.Exec(ctx, sql)
	return err
}

// newSchema creates an empty schema with the items table the changes
// insert into.
func (s *server) newSchema(ctx context.Context, system string) (string, error) {
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := "bench_" + system + "_" + hex.EncodeToString(b[:])
	err := s.exec(ctx, "CREATE SCHEMA "+name+"; CREATE TABLE "+name+".items (id bigint PRIMARY KEY)")
	if err != nil {
		return "", fmt.Errorf("create schema %s: %w", name, err)
	}
	return name, nil
}

// walPosition returns the server's current WAL insert position.
func (s *server) walPosition(ctx context.Context) (string, error) {
	c, err := pgx.Connect(ctx, s.url)
	if err != nil {
		return "", err
	}
	defer c.Close(context.Background())
	var lsn string
	err = c.QueryRow(ctx, "SELECT pg_current_wal_lsn()::text").Scan(&lsn)
	return lsn, err
}

// walSince returns how many bytes of WAL the server wrote since lsn, by
// every session: other activity on the server adds to it.
func (s *server) walSince(ctx context.Context, lsn string) (int64, error) {
	c, err := pgx.Connect(ctx, s.url)
	if err != nil {
		return 0, err
	}
	defer c.Close(context.Background())
	var n int64
	err = c.QueryRow(ctx, "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::text::pg_lsn)::bigint", lsn).Scan(&n)
	return n, err
}

func (s *server) dropSchema(ctx context.Context, name string) error {
	return s.exec(ctx, "DROP SCHEMA "+name+" CASCADE")
}

// tracer counts what pgx sends: every Query, QueryRow and Exec, every
// batch (sent as one pipeline), every prepare that reaches the server, and
// every new connection.
type tracer struct {
	queries, batches, prepares, connects atomic.Int64
}

// tally is a snapshot of a tracer's counters.
type tally struct{ queries, batches, prepares, connects int64 }

func (t *tally) roundTrips() int64 { return t.queries + t.batches + t.prepares }

func (t *tracer) read() tally {
	return tally{t.queries.Load(), t.batches.Load(), t.prepares.Load(), t.connects.Load()}
}

func (a tally) minus(b tally) tally {
	return tally{a.queries - b.queries, a.batches - b.batches, a.prepares - b.prepares, a.connects - b.connects}
}

func (t *tracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	t.queries.Add(1)
	return ctx
}

func (t *tracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (t *tracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	t.batches.Add(1)
	return ctx
}

func (t *tracer) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

func (t *tracer) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

func (t *tracer) TracePrepareStart(ctx context.Context, _ *pgx.Conn, _ pgx.TracePrepareStartData) context.Context {
	return ctx
}

// TracePrepareEnd counts only prepares that went to the server: a
// statement found in the connection's cache costs nothing.
func (t *tracer) TracePrepareEnd(_ context.Context, _ *pgx.Conn, d pgx.TracePrepareEndData) {
	if !d.AlreadyPrepared {
		t.prepares.Add(1)
	}
}

func (t *tracer) TraceConnectStart(ctx context.Context, _ pgx.TraceConnectStartData) context.Context {
	t.connects.Add(1)
	return ctx
}

func (t *tracer) TraceConnectEnd(context.Context, pgx.TraceConnectEndData) {}

// wireCounter is a TCP proxy on the loopback interface that counts round
// trips: each time a client sends after the server has answered (or sends
// its first bytes) is one. Pipelined messages sent before the answer count
// once, as they cost one wait.
type wireCounter struct {
	ln    net.Listener
	to    string
	turns atomic.Int64
	wg    sync.WaitGroup
}

func startWireCounter(to string) (*wireCounter, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	w := &wireCounter{ln: ln, to: to}
	w.wg.Go(w.accept)
	return w, nil
}

func (w *wireCounter) addr() string { return w.ln.Addr().String() }

func (w *wireCounter) close() {
	w.ln.Close()
	w.wg.Wait()
}

func (w *wireCounter) accept() {
	for {
		client, err := w.ln.Accept()
		if err != nil {
			return // listener closed
		}
		upstream, err := net.Dial("tcp", w.to)
		if err != nil {
			client.Close()
			continue
		}
		// serverSpoke is true once the server has sent something since the
		// client last spoke; the client's next bytes start a round trip.
		var serverSpoke atomic.Bool
		serverSpoke.Store(true)
		w.wg.Go(func() {
			w.copy(upstream, client, func() {
				if serverSpoke.Swap(false) {
					w.turns.Add(1)
				}
			})
			upstream.(*net.TCPConn).CloseWrite()
		})
		w.wg.Go(func() {
			w.copy(client, upstream, func() { serverSpoke.Store(true) })
			client.Close()
			upstream.Close()
		})
	}
}

// copy forwards src to dst, calling seen before forwarding each read.
func (w *wireCounter) copy(dst, src net.Conn, seen func()) {
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			seen()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return // EOF or a closed connection: either ends the copy
		}
	}
}
