//! Progress of a run on stderr, for runs that take longer than a second (an estate): a bar
//! redrawn in place on a terminal, plain lines in a log (every 10 % of the cells, or every 5 s,
//! whichever comes first).
//!
//! The runner only counts ([`CellCounter`]); a task of the command polls the count and prints
//! what a [`Reporter`] decides, so the runner's scheduling stays its own business.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Cells probed so far and cells in the run, shared by the runner (which counts) and the
/// command (which prints). Clones share the count.
#[derive(Debug, Clone, Default)]
pub struct CellCounter(Arc<Counts>);

#[derive(Debug, Default)]
struct Counts {
    done: AtomicUsize,
    total: AtomicUsize,
}

impl CellCounter {
    /// A run (or a round of `--wait-for-access`) of `total` cells begins.
    pub fn start(&self, total: usize) {
        self.0.done.store(0, Ordering::Relaxed);
        self.0.total.store(total, Ordering::Relaxed);
    }

    /// One cell is done.
    pub fn tick(&self) {
        self.0.done.fetch_add(1, Ordering::Relaxed);
    }

    /// (done, total)
    pub fn get(&self) -> (usize, usize) {
        (
            self.0.done.load(Ordering::Relaxed),
            self.0.total.load(Ordering::Relaxed),
        )
    }
}

/// Nothing is printed for a run shorter than this.
pub const QUIET_FOR: Duration = Duration::from_secs(1);
/// In a log, a line at least this often while cells are being probed.
pub const PLAIN_EVERY: Duration = Duration::from_secs(5);

/// What to print, decided from the elapsed time and the counts (no I/O).
#[derive(Debug)]
pub struct Reporter {
    interactive: bool,
    /// The last plain line: when, and at how many cells.
    last: Option<(Duration, usize)>,
    drawn: bool,
}

impl Reporter {
    pub fn new(interactive: bool) -> Reporter {
        Reporter {
            interactive,
            last: None,
            drawn: false,
        }
    }

    /// The text to write to stderr now, if any.
    pub fn poll(&mut self, elapsed: Duration, done: usize, total: usize) -> Option<String> {
        if elapsed < QUIET_FOR || total == 0 {
            return None;
        }
        let done = done.min(total);
        if self.interactive {
            self.drawn = true;
            return Some(format!("\r\x1b[2K{}", bar(done, total, 30)));
        }
        let due = match self.last {
            None => true,
            Some((_, at)) if at == done => false,
            Some((when, at)) => {
                elapsed.saturating_sub(when) >= PLAIN_EVERY
                    || decile(done, total) > decile(at, total)
            }
        };
        if !due {
            return None;
        }
        self.last = Some((elapsed, done));
        Some(format!(
            "entraprobe: probed {}/{} cells ({}s)\n",
            crate::report::thousands(done),
            crate::report::thousands(total),
            elapsed.as_secs()
        ))
    }

    /// What ends the progress before the report is printed: a terminal's bar is erased.
    pub fn finish(&self) -> Option<&'static str> {
        self.drawn.then_some("\r\x1b[2K")
    }
}

fn decile(done: usize, total: usize) -> usize {
    done * 10 / total.max(1)
}

/// `probing [#########---------] 800/2,000 cells`
fn bar(done: usize, total: usize, width: usize) -> String {
    let filled = done * width / total.max(1);
    format!(
        "probing [{}{}] {}/{} cells",
        "#".repeat(filled),
        "-".repeat(width - filled),
        crate::report::thousands(done),
        crate::report::thousands(total)
    )
}

/// The printing task of a run: polls `counter` and writes to stderr until [`Progress::finish`].
pub struct Progress {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Progress {
    pub fn spawn(counter: CellCounter, interactive: bool) -> Progress {
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let started = Instant::now();
            let mut reporter = Reporter::new(interactive);
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    _ = tick.tick() => {
                        let (done, total) = counter.get();
                        if let Some(text) = reporter.poll(started.elapsed(), done, total) {
                            eprint!("{text}");
                        }
                    }
                }
            }
            if let Some(text) = reporter.finish() {
                eprint!("{text}");
            }
        });
        Progress { stop, task }
    }

    /// Stop printing (and erase the bar) before the report is written.
    pub async fn finish(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(secs: f32) -> Duration {
        Duration::from_secs_f32(secs)
    }

    #[test]
    fn a_short_run_prints_nothing() {
        let mut r = Reporter::new(false);
        assert_eq!(r.poll(s(0.5), 10, 2000), None);
        let mut r = Reporter::new(true);
        assert_eq!(r.poll(s(0.9), 10, 2000), None);
        assert_eq!(r.finish(), None);
    }

    #[test]
    fn plain_lines_every_tenth_or_every_five_seconds() {
        let mut r = Reporter::new(false);
        assert_eq!(
            r.poll(s(1.0), 100, 2000).as_deref(),
            Some("entraprobe: probed 100/2,000 cells (1s)\n")
        );
        // Same decile, under 5 s: quiet.
        assert_eq!(r.poll(s(2.0), 150, 2000), None);
        // The next tenth.
        assert!(r.poll(s(2.5), 210, 2000).unwrap().contains("210/2,000"));
        // 5 s later in the same tenth.
        assert!(r.poll(s(7.6), 300, 2000).unwrap().contains("300/2,000"));
        // Nothing new: nothing printed, however long it waits.
        assert_eq!(r.poll(s(20.0), 300, 2000), None);
        assert_eq!(r.finish(), None);
    }

    #[test]
    fn a_terminal_gets_a_bar_redrawn_in_place_and_erased() {
        let mut r = Reporter::new(true);
        let line = r.poll(s(1.5), 800, 2000).unwrap();
        assert!(line.starts_with("\r\x1b[2K"));
        assert!(line.ends_with("[############------------------] 800/2,000 cells"));
        assert!(r.finish().is_some());
    }

    #[test]
    fn the_counter_restarts_per_round() {
        let c = CellCounter::default();
        c.start(3);
        c.clone().tick();
        assert_eq!(c.get(), (1, 3));
        c.start(5);
        assert_eq!(c.get(), (0, 5));
    }
}
