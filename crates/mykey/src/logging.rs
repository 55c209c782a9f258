//! The server's log lines (stderr): one event a line, whatever the values in it. Values that
//! come from outside — a relying party's `setErrs` key, a receiver's error, a URL — are escaped
//! (line breaks, terminal escapes, bidi and other control or format characters shown as
//! `\n`, `\u{1b}`, …) and cut at [`MAX_VALUE_CHARS`], so that nobody can forge a log line or
//! colour an operator's terminal; colour is used only when stderr is a terminal.

use std::fmt::Write as _;
use std::io::IsTerminal;

use tracing_subscriber::field::MakeExt;

/// Longest value written, in characters; longer ones end in `…`.
const MAX_VALUE_CHARS: usize = 512;

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum LogFormat {
    /// `time LEVEL span{id=…}: message name=value …`, escaped (see the module docs).
    Text,
    /// One JSON object a line: `timestamp`, `level`, `target`, the event's fields flattened,
    /// and the request's `span` (its `id`, from `traceparent` or made fresh).
    Json,
}

/// Installs the process's subscriber: level from `MYKEY_LOG` (default `info`), lines on stderr
/// in `format`.
/// The node's name (`mykey serve --node-id`), on every line once set.
static NODE: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Names the node on every line from now on: `"node":"…"` first in JSON, `node=… ` before
/// the text. Set once; a second call changes nothing.
pub(crate) fn name_node(node: &str) {
    let _ = NODE.set(node.to_owned());
}

/// An event format that puts the node's name on the line.
struct WithNode<F>(F);

impl<S, N, F> tracing_subscriber::fmt::FormatEvent<S, N> for WithNode<F>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
    F: tracing_subscriber::fmt::FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let Some(node) = NODE.get() else {
            return self.0.format_event(ctx, writer, event);
        };
        if writer.has_ansi_escapes() || !matches!(FORMAT.get(), Some(LogFormat::Json)) {
            // The name was checked to be plain (`--node-id`).
            write!(writer, "node={node} ")?;
            return self.0.format_event(ctx, writer, event);
        }
        let mut line = String::with_capacity(256);
        self.0.format_event(
            ctx,
            tracing_subscriber::fmt::format::Writer::new(&mut line),
            event,
        )?;
        match line.strip_prefix('{') {
            Some(rest) => write!(writer, "{{\"node\":\"{node}\",{rest}"),
            None => writer.write_str(&line),
        }
    }
}

/// The format chosen at [`init`].
static FORMAT: std::sync::OnceLock<LogFormat> = std::sync::OnceLock::new();

pub(crate) fn init(format: LogFormat) {
    let _ = FORMAT.set(format);
    let filter = || {
        tracing_subscriber::EnvFilter::try_from_env("MYKEY_LOG").unwrap_or_else(|_| "info".into())
    };
    match format {
        LogFormat::Text => tracing_subscriber::fmt()
            .with_env_filter(filter())
            .with_ansi(std::io::stderr().is_terminal())
            .event_format(WithNode(tracing_subscriber::fmt::format()))
            .fmt_fields(fields())
            .with_writer(std::io::stderr)
            .init(),
        // JSON escapes every control character itself, so no line can be forged.
        LogFormat::Json => tracing_subscriber::fmt()
            .json()
            .event_format(WithNode(
                tracing_subscriber::fmt::format()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false),
            ))
            .with_env_filter(filter())
            .with_writer(std::io::stderr)
            .init(),
    }
}

/// How fields are written: `name=value`, the value escaped (see the module docs).
fn fields() -> impl for<'w> tracing_subscriber::fmt::FormatFields<'w> + Send + Sync + 'static {
    tracing_subscriber::fmt::format::debug_fn(|w, field, value| {
        let text = escaped(&format!("{value:?}"));
        if field.name() == "message" {
            write!(w, "{text}")
        } else {
            write!(w, "{}={text}", field.name())
        }
    })
    .delimited(" ")
}

/// `value` with every control or format character escaped and at most [`MAX_VALUE_CHARS`]
/// characters kept.
fn escaped(value: &str) -> String {
    let mut out = String::with_capacity(value.len().min(MAX_VALUE_CHARS));
    for (i, c) in value.chars().enumerate() {
        if i == MAX_VALUE_CHARS {
            out.push('…');
            break;
        }
        let invisible = c.is_control()
            || matches!(c, '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{2028}' | '\u{2029}' | '\u{FEFF}' | '\u{E0000}'..='\u{E007F}');
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if invisible => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| std::io::ErrorKind::Other)?
                .extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Issue 19, finding 11: a relying party's `setErrs` key with a line break and a terminal
    /// escape made a log line of its own.
    #[test]
    fn an_outside_value_cannot_make_a_line_of_its_own() {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .fmt_fields(fields())
            .with_writer(move || writer.clone())
            .finish();
        let jti = "x\n2026-12-06T00:00:00Z  INFO operator token rotated\u{1b}[31m\u{202E}";
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(relying_party = 7, %jti, long = %"y".repeat(2000), "a relying party refused a SET");
        });
        let out = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        assert_eq!(out.lines().count(), 1, "{out}");
        assert!(
            out.contains(r"x\n2026-12-06T00:00:00Z  INFO operator token rotated\u{1b}[31m\u{202e}"),
            "{out}"
        );
        assert!(
            !out.contains('\u{1b}') && !out.contains('\u{202E}'),
            "{out}"
        );
        assert!(out.contains("relying_party=7") && out.contains("a relying party refused a SET"));
        assert!(
            out.contains(&format!("long={}…", "y".repeat(MAX_VALUE_CHARS))),
            "{out}"
        );
    }
}
