//! Draws a [`Layout`] as one self-contained HTML page: a header (scenario, seed, counts, each
//! invariant), inline SVG (x = simulated time, y = one lane per node), CSS, and a little plain
//! JavaScript for zoom (wheel) and pan (drag) on the SVG's viewBox. Hovering an element shows its
//! SVG `<title>`. No external URLs; the same layout gives the same bytes.

use std::fmt::Write;

use super::layout::{Arrow, ArrowClass, Lane, Layout, ViolationMark};
use shipsim_trace::{Micros, fmt_t};

/// Left margin (lane labels), in SVG units.
const LEFT: f64 = 110.0;
/// Width of the time axis, in SVG units.
const PLOT: f64 = 1240.0;
/// Right margin.
const RIGHT: f64 = 30.0;
/// Top margin (time axis labels and fault labels).
const TOP: f64 = 44.0;
/// Height of one lane.
const LANE: f64 = 70.0;
/// The baseline of the lowest row of fault labels.
const LABEL_BASE: f64 = 34.0;
/// The height of a row of fault labels (10 px text).
const LABEL_ROW: f64 = 11.0;
/// The width of one character of a fault label, and the gap kept after a label.
const LABEL_CHAR: f64 = 6.0;
const LABEL_GAP: f64 = 4.0;
/// The longest fault label, in characters (the whole fault shows on hover).
const LABEL_CHARS: usize = 28;

const CSS: &str = "\
body{font-family:sans-serif;margin:12px;color:#222;background:#fff}
h1{font-size:18px;margin:0 0 6px 0}
.counts,.note{font-size:13px;margin:4px 0}
.inv{display:inline-block;font-size:13px;padding:2px 8px;margin:2px 4px 2px 0;border-radius:3px}
.inv.held{background:#dff3df;color:#185c18}
.inv.skipped{background:#eee;color:#555}
.inv.violated{background:#f9d6d6;color:#8a1010;font-weight:bold}
.banner{background:#8a1010;color:#fff;padding:6px 10px;margin:6px 0;font-size:13px;border-radius:3px}
.legend span{display:inline-block;margin-right:14px;font-size:12px}
.legend i{display:inline-block;width:22px;height:3px;vertical-align:middle;margin-right:4px}
.k-acked{background:#2a7a2a}.k-ambiguous{background:#d08a00}.k-never-sent{background:#999}
.k-duplicate{background:#8a2be2}.k-violated{background:#e00000}
#view{border:1px solid #bbb;width:100%;height:auto;cursor:grab;user-select:none}
#view.drag{cursor:grabbing}
svg text{font-size:11px;fill:#333}
.lane{stroke:#ddd;stroke-width:1}
.life{stroke:#9bb7d4;stroke-width:7;stroke-linecap:butt}
.crash{stroke:#c00;stroke-width:2}
.restart{fill:#fff;stroke:#2a7;stroke-width:2}
.tick{stroke:#eee;stroke-width:1}
.settle{fill:#f3f0ff}
.span{fill:#ffb347;opacity:.22}
.span.partition,.span.partition-oneway{fill:#ff7b00}
.span.hold,.span.reorder{fill:#c9a000}
.span.loss,.span.latency{fill:#d05050}
.span.drop-route{fill:#7a4fd0}
.fault{stroke:#e08000;stroke-width:1.2;stroke-dasharray:4 3}
text.fault-label{fill:#b06000;font-size:10px}
.fault.idle{opacity:.35}
text.fault-label.idle{fill:#999;font-style:italic}
.probe{fill:#8a2be2;stroke:#fff;stroke-width:.6}
.adopt{stroke:#3a6fd0;stroke-width:1.2}
text.adopt-label{fill:#3a6fd0;font-size:9px}
.a{stroke-width:1.1;fill:none;opacity:.75}
.a:hover{stroke-width:3;opacity:1}
.acked{stroke:#2a7a2a}
.ambiguous{stroke:#d08a00}
.never-sent{stroke:#999;stroke-dasharray:3 2}
.duplicate{stroke:#8a2be2}
.violated{stroke:#e00000;stroke-width:3.5;opacity:1}
.ack{stroke:#3a6fd0;stroke-width:.8;stroke-dasharray:2 2;fill:none}
#acks.hidden{display:none}
.vmark{fill:none;stroke:#e00000;stroke-width:2}
.vline{stroke:#e00000;stroke-width:1.5;stroke-dasharray:6 3}
text.vlabel{fill:#c00000;font-size:11px;font-weight:bold}
";

const JS: &str = "\
(function(){
var s=document.getElementById('view');if(!s)return;
var b0=s.getAttribute('viewBox').split(' ').map(Number),b=b0.slice(),d=null;
function set(){s.setAttribute('viewBox',b.join(' '));}
function pt(e){var r=s.getBoundingClientRect();return[b[0]+(e.clientX-r.left)/r.width*b[2],b[1]+(e.clientY-r.top)/r.height*b[3]];}
s.addEventListener('wheel',function(e){e.preventDefault();var p=pt(e),f=e.deltaY<0?0.8:1.25;
b[0]=p[0]-(p[0]-b[0])*f;b[1]=p[1]-(p[1]-b[1])*f;b[2]*=f;b[3]*=f;set();},{passive:false});
s.addEventListener('mousedown',function(e){d=[e.clientX,e.clientY,b[0],b[1]];s.classList.add('drag');});
window.addEventListener('mousemove',function(e){if(!d)return;var r=s.getBoundingClientRect();
b[0]=d[2]-(e.clientX-d[0])/r.width*b[2];b[1]=d[3]-(e.clientY-d[1])/r.height*b[3];set();});
window.addEventListener('mouseup',function(){d=null;s.classList.remove('drag');});
s.addEventListener('dblclick',function(){b=b0.slice();set();});
var c=document.getElementById('show-acks'),g=document.getElementById('acks');
if(c&&g)c.addEventListener('change',function(){g.classList.toggle('hidden',!c.checked);});
})();
";

/// The HTML page of `layout`.
pub(super) fn render(layout: &Layout) -> String {
    let mut out = String::new();
    let mut title = format!("shipsim: {}, seed {}", layout.scenario, layout.seed);
    if !layout.transport.is_empty() {
        title.push_str(&format!(", transport {}", layout.transport));
    }
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    let _ = writeln!(out, "<title>{}</title>", esc(&title));
    let _ = writeln!(out, "<style>\n{CSS}</style>\n</head>\n<body>");
    header(&mut out, layout, &title);
    svg(&mut out, layout);
    let _ = writeln!(out, "<script>\n{JS}</script>\n</body>\n</html>");
    out
}

/// The page's header: title, run counts, each invariant's outcome, the violations as
/// banners, a note when the arrows are sampled, and the legend.
fn header(out: &mut String, l: &Layout, title: &str) {
    let c = &l.counts;
    let _ = writeln!(out, "<h1>{}</h1>", esc(title));
    let _ = writeln!(
        out,
        "<p class=\"counts\">simulated {}; events shipped {}, deliveries {} ({} duplicate), batches {} ({} ok), \
         faults {}, nodes {}</p>",
        fmt_t(l.end),
        c.routed,
        c.delivered,
        l.duplicates,
        c.batches,
        c.batches_ok,
        c.faults,
        l.lanes.len()
    );
    out.push_str("<div>");
    for inv in &l.invariants {
        let name = esc(inv.name.as_str());
        // What of it could not be checked, as the report says it.
        let note = inv.note.as_deref().map(|n| format!(" [{}]", esc(n))).unwrap_or_default();
        match (&inv.skipped, inv.violations) {
            (_, n) if n > 0 => {
                let _ = write!(out, "<span class=\"inv violated\">{name} violated: {n}{note}</span>");
            }
            (Some(why), _) => {
                let _ = write!(out, "<span class=\"inv skipped\">{name} skipped ({})</span>", esc(why));
            }
            (None, _) => {
                let _ = write!(out, "<span class=\"inv held\">{name} held{note}</span>");
            }
        }
    }
    out.push_str("</div>\n");
    for v in &l.violations {
        let place = if v.event.is_some() { " (highlighted in red below)" } else { "" };
        let _ = writeln!(out, "<div class=\"banner\">at {}: {}{place}</div>", fmt_t(v.t), esc(&v.message));
    }
    if let Some(k) = l.sample_every {
        let _ = writeln!(
            out,
            "<p class=\"note\">{} arrows: showing a deterministic sample, every {k}th arrow ({} drawn, violating \
             ones always kept).</p>",
            l.total_arrows,
            l.arrows.len()
        );
    }
    legend(out);
}

/// The legend: the arrows' colours, the acks' switch, and how to read and move the diagram.
fn legend(out: &mut String) {
    out.push_str("<p class=\"legend\">");
    for (class, what) in [
        ("acked", "acked"),
        ("ambiguous", "ambiguous"),
        ("never-sent", "never sent"),
        ("duplicate", "duplicate"),
        ("violated", "violating event"),
    ] {
        let _ = write!(out, "<span><i class=\"k-{class}\"></i>{what}</span>");
    }
    out.push_str(
        "<span><label><input type=\"checkbox\" id=\"show-acks\"/> show acks (blue dashes)</label></span>",
    );
    out.push_str(
        "<span>orange dashes: faults (grey label: the fault did nothing); purple triangles: a probe's first \
         hit in a node life; blue e<i>N</i>: a node adopts membership epoch N; bands on lanes: lasting faults (partition, hold, loss, ...); shaded: settle phase; wheel: zoom, drag: pan, double-click: reset; \
         hover for details</span></p>\n",
    );
}

/// The diagram's geometry: where a time and a lane go in SVG units.
struct Plot {
    /// The right edge's time (at least 1).
    end: Micros,
    /// The bottom of the lanes.
    bottom: f64,
}

impl Plot {
    /// The x of time `t`.
    fn x(&self, t: Micros) -> f64 {
        LEFT + t as f64 * PLOT / self.end as f64
    }

    /// The y of lane `lane`'s axis.
    fn y(&self, lane: usize) -> f64 {
        TOP + LANE * lane as f64 + LANE / 2.0
    }
}

/// The SVG diagram, back to front: the settle phase, lasting faults' bands, the time
/// axis, the lanes with their lives, fault lines, arrows, acks (hidden), violations.
fn svg(out: &mut String, l: &Layout) {
    let width = LEFT + PLOT + RIGHT;
    let height = TOP + LANE * l.lanes.len().max(1) as f64 + 10.0;
    let p = Plot { end: l.end.max(1), bottom: height - 10.0 };
    let labels: Vec<(f64, f64)> = l.faults.iter().map(|f| (p.x(f.t), label_width(&f.text))).collect();
    let rows = label_rows(&labels);
    // Rows of labels above the first ones grow the picture upwards.
    let rise = rows.iter().max().map_or(0.0, |&r| (LABEL_ROW * r as f64 + 12.0 - LABEL_BASE).max(0.0));
    let (top, height) = (-rise, height + rise);
    let _ = writeln!(out, "<svg id=\"view\" viewBox=\"0 {top:.0} {width:.0} {height:.0}\">");
    settle(out, l, &p);
    fault_bands(out, l, &p);
    time_axis(out, &p);
    for (i, lane) in l.lanes.iter().enumerate() {
        lane_and_lives(out, lane, p.y(i), &p);
    }
    fault_lines(out, l, &p, &rows);
    adoptions(out, l, &p);
    probes(out, l, &p);
    // Arrows: the violating ones last, on top.
    let mut order: Vec<&_> = l.arrows.iter().filter(|a| !a.violated).collect();
    order.extend(l.arrows.iter().filter(|a| a.violated));
    for a in order {
        arrow(out, l, a, &p);
    }
    acks(out, l, &p);
    for v in &l.violations {
        violation(out, l, v, &p);
    }
    out.push_str("</svg>\n");
}

/// The settle phase: a shaded band from its start to the end.
fn settle(out: &mut String, l: &Layout, p: &Plot) {
    let Some(s) = l.settle else { return };
    let _ = writeln!(
        out,
        "<rect class=\"settle\" x=\"{:.2}\" y=\"{TOP:.0}\" width=\"{:.2}\" height=\"{:.2}\"><title>settle phase \
         from {}</title></rect>",
        p.x(s),
        p.x(p.end) - p.x(s),
        p.bottom - TOP,
        fmt_t(s)
    );
    let _ = writeln!(out, "<text x=\"{:.2}\" y=\"{:.0}\">settle</text>", p.x(s) + 3.0, p.bottom - 3.0);
}

/// Lasting faults: a band on each lane they name, from the fault to its end.
fn fault_bands(out: &mut String, l: &Layout, p: &Plot) {
    for f in &l.faults {
        let Some(until) = f.until else { continue };
        for &lane in &f.lanes {
            let _ = writeln!(
                out,
                "<rect class=\"span {}\" x=\"{:.2}\" y=\"{:.1}\" width=\"{:.2}\" height=\"{:.1}\"><title>{} on {} from {} \
                 to {}: {}</title></rect>",
                esc(f.kind.as_str()),
                p.x(f.t),
                p.y(lane) - LANE * 0.3,
                (p.x(until) - p.x(f.t)).max(1.0),
                LANE * 0.6,
                esc(f.kind.as_str()),
                esc(&l.lanes[lane].node),
                fmt_t(f.t),
                fmt_t(until),
                esc(&f.text)
            );
        }
    }
}

/// The time axis: a labelled tick line about every tenth of the run.
fn time_axis(out: &mut String, p: &Plot) {
    let step = tick_step(p.end);
    let mut t = 0;
    while t <= p.end {
        let _ = writeln!(
            out,
            "<line class=\"tick\" x1=\"{0:.2}\" y1=\"{1:.0}\" x2=\"{0:.2}\" y2=\"{2:.0}\"/><text x=\"{0:.2}\" \
             y=\"14\" text-anchor=\"middle\">{3}</text>",
            p.x(t),
            TOP - 4.0,
            p.bottom,
            fmt_t(t)
        );
        t += step;
    }
}

/// One lane at height `yy`: its line and label, then each process life as a bar,
/// with a ring where it restarted and a cross where it went down.
fn lane_and_lives(out: &mut String, lane: &Lane, yy: f64, p: &Plot) {
    let _ = writeln!(
        out,
        "<line class=\"lane\" x1=\"{LEFT:.0}\" y1=\"{yy:.1}\" x2=\"{:.2}\" y2=\"{yy:.1}\"/><text x=\"{:.0}\" \
         y=\"{:.1}\" text-anchor=\"end\">{}</text>",
        p.x(p.end),
        LEFT - 8.0,
        yy + 4.0,
        esc(&lane.node)
    );
    for life in &lane.lives {
        let down = life.down.unwrap_or(p.end);
        let until =
            life.down.map(|d| format!("down at {}", fmt_t(d))).unwrap_or_else(|| "up to the end".into());
        let _ = writeln!(
            out,
            "<line class=\"life\" x1=\"{:.2}\" y1=\"{yy:.1}\" x2=\"{:.2}\" y2=\"{yy:.1}\"><title>{} life {}: up at \
             {}, {}</title></line>",
            p.x(life.up),
            p.x(down),
            esc(&lane.node),
            life.life,
            fmt_t(life.up),
            until
        );
        if life.life > 1 {
            let _ = writeln!(
                out,
                "<circle class=\"restart\" cx=\"{:.2}\" cy=\"{yy:.1}\" r=\"5\"><title>{} restarted (life {}) at \
                 {}</title></circle>",
                p.x(life.up),
                esc(&lane.node),
                life.life,
                fmt_t(life.up)
            );
        }
        if let Some(d) = life.down {
            crash(out, &lane.node, life.life, d, p.x(d), yy);
        }
    }
}

/// A cross at (`cx`, `yy`): life `life` of `node` went down at `d`.
fn crash(out: &mut String, node: &str, life: u32, d: Micros, cx: f64, yy: f64) {
    let s = 7.0;
    let _ = writeln!(
        out,
        "<path class=\"crash\" d=\"M{:.2} {:.1}L{:.2} {:.1}M{:.2} {:.1}L{:.2} {:.1}\"><title>{} down (life \
         {}) at {}</title></path>",
        cx - s,
        yy - s,
        cx + s,
        yy + s,
        cx - s,
        yy + s,
        cx + s,
        yy - s,
        esc(node),
        life,
        fmt_t(d)
    );
}

/// Every fault: a dashed line at its time, across all lanes, with a short label in its row
/// (see [`label_rows`]); dimmed when the fault did nothing.
fn fault_lines(out: &mut String, l: &Layout, p: &Plot, rows: &[usize]) {
    for (f, &row) in l.faults.iter().zip(rows) {
        let fx = p.x(f.t);
        let bottom = p.bottom;
        let (idle, effect) = match &f.effect {
            Some(e) if !e.effect => (" idle", format!(" (did nothing: {})", e.why)),
            Some(e) => ("", format!(" (effect: {})", e.why)),
            None => ("", String::new()),
        };
        let _ = writeln!(
            out,
            "<line class=\"fault{idle}\" x1=\"{fx:.2}\" y1=\"{:.0}\" x2=\"{fx:.2}\" y2=\"{bottom:.0}\"><title>fault at \
             {}: {}{}</title></line><text class=\"fault-label{idle}\" x=\"{:.2}\" y=\"{:.0}\">{}<title>{}{}</title></text>",
            TOP - 14.0,
            fmt_t(f.t),
            esc(&f.text),
            esc(&effect),
            fx + 2.0,
            LABEL_BASE - LABEL_ROW * row as f64,
            esc(&short(&f.text, LABEL_CHARS)),
            esc(&f.text),
            esc(&effect)
        );
    }
}

/// Each probe's first hit in each node life: a small triangle above its lane.
fn probes(out: &mut String, l: &Layout, p: &Plot) {
    for m in &l.probes {
        let (x, y) = (p.x(m.t), p.y(m.lane) - 9.0);
        let _ = writeln!(
            out,
            "<path class=\"probe\" d=\"M{:.2} {:.1}L{:.2} {:.1}L{:.2} {:.1}Z\"><title>{} life {}: probe {} first hit at \
             {} ({} hits in this life)</title></path>",
            x,
            y + 4.0,
            x - 4.0,
            y - 4.0,
            x + 4.0,
            y - 4.0,
            esc(&l.lanes[m.lane].node),
            m.life,
            esc(&m.name),
            fmt_t(m.t),
            m.hits
        );
    }
}

/// Each node's adoption of each membership epoch: a tick below its lane, labelled `eN`.
fn adoptions(out: &mut String, l: &Layout, p: &Plot) {
    for a in &l.adoptions {
        let (x, y) = (p.x(a.t), p.y(a.lane));
        let _ = writeln!(
            out,
            "<line class=\"adopt\" x1=\"{x:.2}\" y1=\"{:.1}\" x2=\"{x:.2}\" y2=\"{:.1}\"/><text class=\"adopt-label\" \
             x=\"{:.2}\" y=\"{:.1}\">e{}<title>{} life {} adopts epoch {} at {} ({} shards moved)</title></text>",
            y + 5.0,
            y + 12.0,
            x + 1.5,
            y + 20.0,
            a.epoch,
            esc(&l.lanes[a.lane].node),
            a.life,
            a.epoch,
            fmt_t(a.t),
            a.moved
        );
    }
}

/// One shipped event: a line from its send to its delivery (a curve when local), or a
/// stub towards its destination when never delivered.
fn arrow(out: &mut String, l: &Layout, a: &Arrow, p: &Plot) {
    let (x1, y1) = (p.x(a.sent), p.y(a.src));
    let d = match a.delivered {
        Some(t) if a.local => {
            let x2 = p.x(t);
            format!("M{x1:.2} {y1:.1}Q{:.2} {:.1} {x2:.2} {y1:.1}", (x1 + x2) / 2.0, y1 - LANE / 3.0)
        }
        Some(t) => format!("M{x1:.2} {y1:.1}L{:.2} {:.1}", p.x(t), p.y(a.dst)),
        // Never delivered: a stub towards the destination.
        None => {
            let y2 = if a.dst == a.src { y1 - LANE / 4.0 } else { y1 + (p.y(a.dst) - y1) * 0.35 };
            format!("M{x1:.2} {y1:.1}L{:.2} {y2:.1}", x1 + 6.0)
        }
    };
    let class = if a.violated { format!("{} violated", a.class.css()) } else { a.class.css().to_owned() };
    let delivered = a.delivered.map(fmt_t).unwrap_or_else(|| "never".into());
    let what = match a.class {
        ArrowClass::Acked => "acked",
        ArrowClass::Ambiguous => "ambiguous",
        ArrowClass::NeverSent => "never sent",
        ArrowClass::Duplicate => "duplicate delivery",
    };
    let _ = writeln!(
        out,
        "<path class=\"a {class}\" d=\"{d}\"><title>event {} key {}: {} batch {} index {} to {}; sent {}, \
         delivered {}; {what}{}</title></path>",
        a.id,
        esc(&a.key),
        esc(&l.lanes[a.src].node),
        a.batch,
        a.index,
        esc(&l.lanes[a.dst].node),
        fmt_t(a.sent),
        delivered,
        if a.violated { "; VIOLATION" } else { "" }
    );
}

/// Acks, hidden until asked for: from the delivery to the ack's arrival at the sender.
fn acks(out: &mut String, l: &Layout, p: &Plot) {
    out.push_str("<g id=\"acks\" class=\"hidden\">\n");
    for ack in &l.acks {
        let start = ack.delivered.unwrap_or(ack.acked);
        let _ = writeln!(
            out,
            "<line class=\"ack\" x1=\"{:.2}\" y1=\"{:.1}\" x2=\"{:.2}\" y2=\"{:.1}\"><title>ack of event {} from {} to {} at {}</title></line>",
            p.x(start),
            p.y(ack.from),
            p.x(ack.acked),
            p.y(ack.to),
            ack.id,
            esc(&l.lanes[ack.from].node),
            esc(&l.lanes[ack.to].node),
            fmt_t(ack.acked)
        );
    }
    out.push_str("</g>\n");
}

/// A violation: a ring on the named event's arrow, else a line at the time of
/// detection; then its label.
fn violation(out: &mut String, l: &Layout, v: &ViolationMark, p: &Plot) {
    let arrow = v.event.and_then(|id| l.arrows.iter().find(|a| a.id == id && a.violated));
    let (vx, vy) = match arrow {
        Some(a) => {
            let (t, lane) = match a.delivered {
                Some(t) => (t, a.dst),
                None => (a.sent, a.src),
            };
            let _ = writeln!(
                out,
                "<circle class=\"vmark\" cx=\"{:.2}\" cy=\"{:.1}\" r=\"9\"><title>{}</title></circle>",
                p.x(t),
                p.y(lane),
                esc(&v.message)
            );
            (p.x(t), p.y(lane) - 12.0)
        }
        None => {
            let _ = writeln!(
                out,
                "<line class=\"vline\" x1=\"{0:.2}\" y1=\"{1:.0}\" x2=\"{0:.2}\" y2=\"{2:.0}\"><title>{3}</title></line>",
                p.x(v.t),
                TOP,
                p.bottom,
                esc(&v.message)
            );
            (p.x(v.t), TOP + 12.0)
        }
    };
    let anchor = if vx > LEFT + PLOT * 0.7 { "end" } else { "start" };
    let _ = writeln!(
        out,
        "<text class=\"vlabel\" x=\"{:.2}\" y=\"{vy:.1}\" text-anchor=\"{anchor}\">{}<title>{}</title></text>",
        if anchor == "end" { vx - 4.0 } else { vx + 4.0 },
        esc(&short(&v.message, 70)),
        esc(&v.message)
    );
}

/// A tick spacing of 1, 2 or 5 times a power of ten giving about ten ticks.
fn tick_step(end: Micros) -> Micros {
    let mut p = 1;
    loop {
        for m in [1, 2, 5] {
            if end / (m * p) <= 10 {
                return m * p;
            }
        }
        p *= 10;
    }
}

/// How wide a fault's label is drawn, gap after it included.
fn label_width(text: &str) -> f64 {
    text.chars().count().min(LABEL_CHARS) as f64 * LABEL_CHAR + LABEL_GAP
}

/// The row of each label `(x, width)`, given in time order: the lowest row whose last label
/// ends before this one begins, so that no two labels overlap however close their faults.
fn label_rows(labels: &[(f64, f64)]) -> Vec<usize> {
    let mut ends: Vec<f64> = Vec::new();
    labels
        .iter()
        .map(|&(x, width)| {
            let row = ends.iter().position(|&end| end <= x).unwrap_or(ends.len());
            if row == ends.len() {
                ends.push(0.0);
            }
            ends[row] = x + width;
            row
        })
        .collect()
}

/// At most `n` characters of `s`, with an ellipsis when cut.
fn short(s: &str, n: usize) -> String {
    if s.chars().count() <= n { s.to_owned() } else { s.chars().take(n - 1).chain(['…']).collect() }
}

/// Escapes text and attribute values for HTML and XML.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {

    #[test]
    fn fault_labels_close_together_go_in_rows_and_never_overlap() {
        // Half a second apart in a 60 s run is 10 px: each label needs its own row until the
        // first row is free again.
        let x = |t_ms: u64| LEFT + t_ms as f64 * PLOT / 60_000.0;
        let labels: Vec<(f64, f64)> = (0..12)
            .map(|i| (x(2_000 + 500 * i), label_width("{at: 2s, partition: [[n1], [n2, n3]]}")))
            .collect();
        let rows = label_rows(&labels);
        assert_eq!(rows[..3], [0, 1, 2]);
        for (a, (la, ra)) in labels.iter().zip(&rows).enumerate() {
            for (lb, rb) in labels.iter().zip(&rows).skip(a + 1) {
                let apart = la.0 + la.1 <= lb.0 || lb.0 + lb.1 <= la.0;
                assert!(ra != rb || apart, "labels at {} and {} overlap in row {ra}", la.0, lb.0);
            }
        }
        // Far apart, they all sit in the first row.
        assert_eq!(label_rows(&[(100.0, 50.0), (400.0, 50.0), (900.0, 50.0)]), [0, 0, 0]);
    }
    use super::*;
    use crate::html::layout::tests::records;

    /// Checks that `xml` is well formed: balanced tags, quoted attributes, no raw `<` or bare `&`
    /// in text or attribute values. Returns the element names, in order.
    fn well_formed(xml: &str) -> Result<Vec<String>, String> {
        let mut stack: Vec<String> = Vec::new();
        let mut names = Vec::new();
        let mut rest = xml;
        while !rest.is_empty() {
            let Some(open) = rest.find('<') else {
                check_text(rest)?;
                break;
            };
            check_text(&rest[..open])?;
            rest = &rest[open..];
            if let Some(after) = rest.strip_prefix("<!--") {
                let end = after.find("-->").ok_or("unterminated comment")?;
                rest = &after[end + 3..];
                continue;
            }
            let close = tag_end(rest).ok_or_else(|| format!("unterminated tag: {}", short(rest, 40)))?;
            let tag = &rest[1..close];
            rest = &rest[close + 1..];
            if let Some(name) = tag.strip_prefix('/') {
                match stack.pop() {
                    Some(open) if open == name.trim() => {}
                    other => return Err(format!("</{name}> closes {other:?}")),
                }
                continue;
            }
            let (body, empty) = match tag.strip_suffix('/') {
                Some(body) => (body, true),
                None => (tag, false),
            };
            let name_end = body.find(char::is_whitespace).unwrap_or(body.len());
            let name = &body[..name_end];
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ':') {
                return Err(format!("bad element name {name:?}"));
            }
            check_attributes(&body[name_end..])?;
            names.push(name.to_owned());
            if !empty {
                stack.push(name.to_owned());
            }
        }
        match stack.is_empty() {
            true => Ok(names),
            false => Err(format!("unclosed: {stack:?}")),
        }
    }

    /// The index of the `>` ending the tag at the start of `s`, skipping quoted values.
    fn tag_end(s: &str) -> Option<usize> {
        let mut quote = None;
        for (i, c) in s.char_indices().skip(1) {
            match (quote, c) {
                (None, '"' | '\'') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (None, '>') => return Some(i),
                (None, '<') => return None,
                _ => {}
            }
        }
        None
    }

    fn check_attributes(mut s: &str) -> Result<(), String> {
        loop {
            s = s.trim_start();
            if s.is_empty() {
                return Ok(());
            }
            let eq = s.find('=').ok_or_else(|| format!("attribute without value: {s}"))?;
            let name = &s[..eq];
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ':') {
                return Err(format!("bad attribute name {name:?}"));
            }
            let value = &s[eq + 1..];
            let q = value.chars().next().filter(|c| *c == '"' || *c == '\'').ok_or("unquoted attribute")?;
            let end = value[1..].find(q).ok_or("unterminated attribute")?;
            check_text(&value[1..1 + end])?;
            s = &value[end + 2..];
        }
    }

    fn check_text(s: &str) -> Result<(), String> {
        if s.contains('<') {
            return Err(format!("raw < in {s:?}"));
        }
        let mut rest = s;
        while let Some(i) = rest.find('&') {
            rest = &rest[i + 1..];
            let end = rest.find(';').ok_or_else(|| format!("bare & in {s:?}"))?;
            let entity = &rest[..end];
            let ok = matches!(entity, "amp" | "lt" | "gt" | "quot" | "apos")
                || entity
                    .strip_prefix('#')
                    .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
            if !ok {
                return Err(format!("unknown entity &{entity}; in {s:?}"));
            }
            rest = &rest[end + 1..];
        }
        Ok(())
    }

    fn svg_part(html: &str) -> &str {
        let start = html.find("<svg").expect("an <svg>");
        let end = html.rfind("</svg>").expect("an </svg>") + "</svg>".len();
        &html[start..end]
    }

    #[test]
    fn the_svg_is_well_formed_xml_with_coverage_marks_too() {
        let html = render(&Layout::of(&crate::html::marks::tests::records_with_marks()));
        let names = well_formed(svg_part(&html)).unwrap();
        // The arrows and the crash, and the probe's triangle.
        assert_eq!(names.iter().filter(|n| *n == "path").count(), 5 + 1 + 1);
    }

    #[test]
    fn the_svg_is_well_formed_xml() {
        let html = render(&Layout::of(&records()));
        let names = well_formed(svg_part(&html)).unwrap();
        assert_eq!(names.iter().filter(|n| *n == "svg").count(), 1);
        // Five arrows, two lanes, two lives of n2 and one of n1.
        assert_eq!(names.iter().filter(|n| *n == "path").count(), 5 + 1);
        // The violation's label is in the SVG, escaped.
        assert!(
            svg_part(&html).contains(">liveness / settle-ok: expected quiet, actual busy &lt;n2&gt;<title>")
        );
    }

    #[test]
    fn the_checker_rejects_malformed_xml() {
        assert!(well_formed("<svg><g></svg>").is_err());
        assert!(well_formed("<svg>a < b</svg>").is_err());
        assert!(well_formed("<svg>a & b</svg>").is_err());
        assert!(well_formed("<svg><text x=1>a</text></svg>").is_err());
        assert!(well_formed("<svg><text x=\"1\">a &amp; b<title>t</title></text><line/></svg>").is_ok());
    }

    #[test]
    fn the_page_is_self_contained_deterministic_and_shows_the_violation() {
        let html = render(&Layout::of(&records()));
        assert_eq!(html, render(&Layout::of(&records())));
        assert!(!html.contains("http"), "no external URLs");
        assert!(!html.contains(" src="), "no fetched resources");
        assert!(html.contains("<h1>shipsim: tiny &lt;&amp;&gt;, seed 7, transport tcp</h1>"));
        assert!(html.contains("<span class=\"inv held\">ordering held</span>"));
        assert!(html.contains("<span class=\"inv violated\">delivery violated: 1</span>"));
        // The event-less violation is a banner; the other highlights its arrows.
        assert!(html.contains("liveness / settle-ok: expected quiet, actual busy &lt;n2&gt;</div>"));
        assert_eq!(html.matches("class=\"a acked violated\"").count(), 1);
        assert_eq!(html.matches("class=\"a duplicate violated\"").count(), 1);
        assert!(html.contains("class=\"vmark\""));
        assert!(html.contains("class=\"vline\""));
        assert!(html.contains("class=\"fault\""));
        assert!(html.contains("class=\"settle\""));
        assert!(html.contains("class=\"crash\""));
        assert!(html.contains("class=\"restart\""));
        assert!(html.contains("<g id=\"acks\" class=\"hidden\">") && html.contains("class=\"ack\""));
        assert!(html.contains("id=\"show-acks\""), "acks are shown on demand");
    }

    #[test]
    fn time_formatting_and_ticks() {
        assert_eq!(fmt_t(0), "0s");
        assert_eq!(fmt_t(1_250_000), "1.25s");
        assert_eq!(fmt_t(300), "0.0003s");
        assert_eq!(tick_step(1000), 100);
        assert_eq!(tick_step(6_233_000), 1_000_000);
        assert_eq!(tick_step(1), 1);
    }
}
