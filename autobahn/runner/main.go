// Command runner is wsforge's Autobahn-equivalent conformance runner. It runs
// the Autobahn|Testsuite case catalogue (sections 1-7, 9, 10, and 12 and 13
// with permessage-deflate) against a WebSocket server or client and writes
// per-case JSON reports and a per-section summary.
//
// Modes:
//
//	-mode fuzzingclient -url ws://127.0.0.1:9002      test a server
//	-mode fuzzingserver -addr 127.0.0.1:9001          test clients, which use
//	    /getCaseCount, /runCase?case=N&agent=A and /updateReports?agent=A
//	-mode checkreport -report reports/servers/index.json
//	    check an index.json written by the official suite
//
// The exit status is 0 when every case run is OK or informational, 1 when a
// case is FAILED, NON-STRICT, UNIMPLEMENTED or MISSING, and 2 on errors.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"time"

	"github.com/wsforge/websocket/autobahn/internal/catalogue"
	"github.com/wsforge/websocket/autobahn/internal/suite"
)

func main() {
	os.Exit(run())
}

type options struct {
	mode, url, addr, addrFile, cases, exclude, outdir, agent, report, cpuProfile string
	verbose                                                                      bool
	timeout                                                                      time.Duration
}

func run() int {
	var o options
	flag.StringVar(&o.mode, "mode", "fuzzingclient", "fuzzingclient (test a server), fuzzingserver (test clients) or checkreport")
	flag.StringVar(&o.url, "url", "ws://127.0.0.1:9002", "fuzzingclient: URL of the server under test")
	flag.StringVar(&o.addr, "addr", "127.0.0.1:9001", "fuzzingserver: listen address (port 0 picks a free port)")
	flag.StringVar(&o.addrFile, "addr-file", "", "fuzzingserver: write the listen address to this file once listening")
	flag.StringVar(&o.cases, "cases", "*", "comma separated case ids or patterns with '*', e.g. '1.*,2.*,6.4.1'")
	flag.StringVar(&o.exclude, "exclude", "", "comma separated case ids or patterns to leave out")
	flag.StringVar(&o.outdir, "outdir", "", "report directory (default autobahn/reports/servers or autobahn/reports/clients)")
	flag.StringVar(&o.agent, "agent", "", "fuzzingclient: name of the server under test (default: its Server header)")
	flag.StringVar(&o.report, "report", "", "checkreport: path of an index.json written by the official suite")
	flag.BoolVar(&o.verbose, "v", false, "log every case, not only those that are not OK")
	flag.DurationVar(&o.timeout, "timeout", 30*time.Minute, "fuzzingserver: give up when no client asked for reports by then")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the runner to this file")
	flag.Parse()

	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return fail(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fail(err)
		}
		defer pprof.StopCPUProfile()
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	if o.mode == "checkreport" {
		return checkReport(o.report)
	}
	cat, err := catalogue.Load(catalogue.ServerRole)
	if err != nil {
		return fail(err)
	}
	ids, err := suite.Select(cat.IDs(), suite.SplitPatterns(o.cases), suite.SplitPatterns(o.exclude))
	if err != nil {
		return fail(err)
	}
	if len(ids) == 0 {
		return fail(errors.New("no case selected"))
	}
	var rep *suite.Report
	switch o.mode {
	case "fuzzingclient":
		if o.outdir == "" {
			o.outdir = "autobahn/reports/servers"
		}
		rep, err = suite.RunClient(ctx, suite.ClientConfig{URL: o.url, Agent: o.agent, Cases: ids, Log: os.Stdout, Verbose: o.verbose})
	case "fuzzingserver":
		if o.outdir == "" {
			o.outdir = "autobahn/reports/clients"
		}
		rep, err = serve(ctx, o, ids)
	default:
		return fail(fmt.Errorf("unknown mode %q", o.mode))
	}
	if err != nil {
		return fail(err)
	}
	if err := suite.WriteReports(o.outdir, rep); err != nil {
		return fail(err)
	}
	fmt.Print(suite.FormatSummary(rep))
	fmt.Printf("\nReports written to %s\n", o.outdir)
	if suite.Failing(rep.Results) {
		return 1
	}
	return 0
}

func serve(ctx context.Context, o options, ids []string) (*suite.Report, error) {
	srv, err := suite.NewServer(suite.ServerConfig{
		Cases:   ids,
		Log:     os.Stdout,
		Verbose: o.verbose,
		OnUpdateReports: func(rep *suite.Report) {
			if err := suite.WriteReports(o.outdir, rep); err != nil {
				fmt.Fprintln(os.Stderr, "runner: writing reports:", err)
			}
		},
	})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return nil, err
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	defer hs.Close()
	addr := ln.Addr().String()
	fmt.Printf("Fuzzing server listening on ws://%s serving %d cases; waiting for a client to run them and call /updateReports\n", addr, srv.CaseCount())
	if o.addrFile != "" {
		if err := os.WriteFile(o.addrFile, []byte(addr+"\n"), 0o644); err != nil {
			return nil, err
		}
	}
	select {
	case rep := <-srv.Done():
		return rep, nil
	case <-ctx.Done():
		return nil, errors.New("interrupted before a client asked for reports")
	case <-time.After(o.timeout):
		return nil, fmt.Errorf("no client asked for reports within %v", o.timeout)
	}
}

func fail(err error) int {
	fmt.Fprintln(os.Stderr, "runner:", err)
	return 2
}
