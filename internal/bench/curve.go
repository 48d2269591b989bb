package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Cost curves: the same scenario run once per value of one parameter.
const (
	CurveFanout = "fanout" // group: server CPU per delivery against the group's size
	CurveConns  = "conns"  // connections: server memory per connection against how many
)

// Curve is a sweep's result: one run per value.
type Curve struct {
	Kind   string       `json:"kind"`
	Points []CurvePoint `json:"points"`
}

// CurvePoint is one run of a sweep.
type CurvePoint struct {
	Value int     `json:"value"` // members or connections
	Y     float64 `json:"y"`     // fanout: server CPU µs per delivery; conns: server RSS KiB per connection
	Y2    float64 `json:"y2"`    // fanout: generator CPU µs per delivery; conns: heap+stack KiB per connection
	Run   *Report `json:"run"`
}

// RunCurve runs base's scenario for each value: for fanout a group of that
// many online members with min(base.Senders, value) senders sending about
// deliveries/(value-1) messages (20 to 20,000), closed loop; for conns that
// many idle connections. Each run has its own users (a fresh prefix). A
// run that breaks a delivery guarantee ends the sweep with an error.
func RunCurve(ctx context.Context, kind string, values []int, deliveries int, base Config) (*Curve, error) {
	if len(values) == 0 {
		return nil, errors.New("curve: no values to sweep")
	}
	c := &Curve{Kind: kind}
	for _, v := range values {
		cfg := base
		cfg.Prefix = ""
		switch kind {
		case CurveFanout:
			if v < 2 {
				return nil, fmt.Errorf("curve fanout: group size %d, want at least 2", v)
			}
			cfg.Scenario, cfg.Members = Group, v
			cfg.Senders = max(1, min(cfg.Senders, v))
			cfg.Messages = min(20000, max(20, deliveries/(v-1)))
			cfg.Duration = 0
		case CurveConns:
			if v < 1 {
				return nil, fmt.Errorf("curve conns: %d connections, want at least 1", v)
			}
			cfg.Scenario, cfg.Conns = Connections, v
		default:
			return nil, fmt.Errorf("unknown curve %q (fanout or conns)", kind)
		}
		rep, err := Run(ctx, cfg)
		if err != nil {
			return c, fmt.Errorf("curve %s at %d: %w", kind, v, err)
		}
		p := CurvePoint{Value: v, Run: rep}
		var cpu, frames, rss, heap float64
		conns := 0
		for _, n := range rep.Nodes {
			if n.Target == "total" {
				continue
			}
			cpu, frames, rss, heap = cpu+n.CPUSeconds, frames+n.FramesOut, rss+n.RSSDelta, heap+n.HeapDelta+n.StackDelta
			conns += n.Conns
		}
		switch kind {
		case CurveFanout:
			if frames > 0 {
				p.Y, p.Y2 = cpu/frames*1e6, rep.ClientCPU/frames*1e6
			}
		case CurveConns:
			if conns > 0 {
				p.Y, p.Y2 = rss/float64(conns)/1024, heap/float64(conns)/1024
			}
		}
		c.Points = append(c.Points, p)
		if rep.Failed {
			return c, fmt.Errorf("curve %s at %d: run FAILED: %s", kind, v, strings.Join(rep.Verdict.Failures, "; "))
		}
	}
	return c, nil
}

// Chart draws the curve.
func (c *Curve) Chart() *Chart {
	ch := &Chart{LogX: true}
	var a, b Series
	for _, p := range c.Points {
		x := float64(p.Value)
		a.Points = append(a.Points, Point{X: x, Y: p.Y, Label: fmt.Sprintf("%.1f", p.Y)})
		b.Points = append(b.Points, Point{X: x, Y: p.Y2})
	}
	switch c.Kind {
	case CurveFanout:
		ch.Title = "switchboard bench curve fanout: CPU per delivery by group size"
		ch.XLabel, ch.YLabel = "online group members (log)", "CPU µs per delivery"
		a.Name, b.Name = "server", "load generator"
	default:
		ch.Title = "switchboard bench curve conns: memory per idle connection"
		ch.XLabel, ch.YLabel = "connections held by one node (log)", "KiB per connection"
		a.Name, b.Name = "server RSS", "server Go heap + stacks"
	}
	ch.Series = []Series{a, b}
	return ch
}

// WriteText writes the curve as a table.
func (c *Curve) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	switch c.Kind {
	case CurveFanout:
		fmt.Fprintln(tw, "members\tmsgs\tdeliveries/s\tp99 send->recv ms\tserver CPU s\tframes out\tserver µs/delivery\tgenerator µs/delivery\tchecks\t")
		for _, p := range c.Points {
			r := p.Run
			var cpu, frames float64
			for _, n := range r.Nodes {
				if n.Target != "total" {
					cpu, frames = cpu+n.CPUSeconds, frames+n.FramesOut
				}
			}
			fmt.Fprintf(tw, "%d\t%d\t%.0f\t%.1f\t%.2f\t%.0f\t%.2f\t%.2f\t%s\t\n", p.Value, r.Acked, r.DeliveryRate, r.RecvLatency.P99,
				cpu, frames, p.Y, p.Y2, passed(r))
		}
	default:
		fmt.Fprintln(tw, "conns\tconnect/s\tdial errors\tRSS after MiB\tRSS KiB/conn\theap+stack KiB/conn\tchecks\t")
		for _, p := range c.Points {
			r := p.Run
			var after float64
			for _, n := range r.Nodes {
				if n.Target != "total" {
					after += n.RSSAfter
				}
			}
			fmt.Fprintf(tw, "%d\t%.0f\t%d\t%.0f\t%.2f\t%.2f\t%s\t\n", p.Value, r.ConnectRate, r.DialErrors, after/(1<<20), p.Y, p.Y2, passed(r))
		}
	}
	return tw.Flush()
}

func passed(r *Report) string {
	if r.Failed {
		return "FAILED"
	}
	return "PASSED"
}
