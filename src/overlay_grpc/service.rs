//! The `Overlay` gRPC service: `Forward` and `GetMetrics` of `proto/overlay.proto`, answered
//! through the process's [`Gateway`]. A malformed request gets a gRPC error
//! (`INVALID_ARGUMENT`), never a panic; a request the overlay refuses (busy, overloaded, no
//! route, deadline, hop refused) gets an answer saying so and why.

use std::sync::Arc;
use std::time::Duration;

use faultline_nodes::overlay::Outcome;
use tonic::metadata::MetadataMap;
use tonic::{Request, Response, Status};

use super::gateway::{Gateway, NoAnswer};
use super::pb;

/// The deadline of a request that names none, neither in its field nor as a gRPC timeout.
pub const DEADLINE_DEFAULT_MS: u32 = 2000;
/// The longest deadline taken.
pub const DEADLINE_MAX_MS: u32 = 60_000;
/// The largest payload taken (it only travels back to its client).
pub const PAYLOAD_BYTES_MAX: usize = 64 * 1024;

/// The service of one process.
pub struct Service {
    gw: Arc<Gateway>,
}

impl Service {
    /// The service answering through `gw`.
    pub fn new(gw: Arc<Gateway>) -> Service {
        Service { gw }
    }
}

/// Why the overlay refused a request, in words.
pub fn reason(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Done { .. } => "",
        Outcome::Busy => "busy: the leader's queue is full",
        Outcome::Overloaded => "overloaded: a process already handles as many requests as it may",
        Outcome::NoRoute => "no live process could take it further",
        Outcome::Deadline => "its deadline passed before it was processed",
        Outcome::HopRefused => "it would have revisited a process or passed the hop bound",
    }
}

/// The client's `grpc-timeout` header, in milliseconds (rounded up); `None` when absent or
/// malformed (tonic refuses a malformed one before the call anyway).
pub fn grpc_timeout_ms(meta: &MetadataMap) -> Option<u64> {
    let text = meta.get("grpc-timeout")?.to_str().ok()?;
    if text.len() < 2 || text.len() > 9 {
        return None;
    }
    let (digits, unit) = text.split_at(text.len() - 1);
    let n: u64 = digits.parse().ok()?;
    let per_ms: (u64, u64) = match unit {
        "H" => (3_600_000, 1),
        "M" => (60_000, 1),
        "S" => (1000, 1),
        "m" => (1, 1),
        "u" => (1, 1000),
        "n" => (1, 1_000_000),
        _ => return None,
    };
    Some((n.saturating_mul(per_ms.0)).div_ceil(per_ms.1))
}

/// The deadline a request is given: its field if set, within the gRPC timeout if any; a
/// field past [`DEADLINE_MAX_MS`] is refused in words.
pub fn deadline_ms(field: u32, grpc_timeout: Option<u64>) -> Result<u32, String> {
    if field > DEADLINE_MAX_MS {
        return Err(format!(
            "deadline_ms: {field} is past the longest deadline taken, {DEADLINE_MAX_MS}"
        ));
    }
    let grpc = grpc_timeout.map(|t| t.min(u64::from(DEADLINE_MAX_MS)) as u32);
    Ok(match (field, grpc) {
        (0, None) => DEADLINE_DEFAULT_MS,
        (0, Some(t)) => t,
        (f, None) => f,
        (f, Some(t)) => f.min(t),
    })
}

#[tonic::async_trait]
impl pb::overlay_server::Overlay for Service {
    async fn forward(
        &self,
        request: Request<pb::ForwardRequest>,
    ) -> Result<Response<pb::ForwardReply>, Status> {
        let timeout = grpc_timeout_ms(request.metadata());
        let req = request.into_inner();
        if req.payload.len() > PAYLOAD_BYTES_MAX {
            return Err(Status::invalid_argument(format!(
                "payload: {} bytes, at most {PAYLOAD_BYTES_MAX}",
                req.payload.len()
            )));
        }
        let deadline = deadline_ms(req.deadline_ms, timeout).map_err(Status::invalid_argument)?;
        let team_name = (!req.team.is_empty()).then_some(req.team.as_str());
        let team = (self.gw.team(team_name))
            .map_err(|m| Status::invalid_argument(format!("team: {m}")))?;
        let answer = match self
            .gw
            .forward(team, Duration::from_millis(u64::from(deadline)))
            .await
        {
            Ok(a) => a,
            Err(NoAnswer::Deadline) => {
                return Err(Status::deadline_exceeded(format!(
                    "no answer from the overlay within {deadline} ms"
                )))
            }
            Err(NoAnswer::Exhausted) => {
                return Err(Status::resource_exhausted(
                    "this process's gRPC server waits on too many requests",
                ))
            }
        };
        let worker = match answer.outcome {
            Outcome::Done { worker } => self.gw.name(worker),
            _ => String::new(),
        };
        Ok(Response::new(pb::ForwardReply {
            outcome: answer.outcome.name().to_string(),
            reason: reason(answer.outcome).to_string(),
            worker,
            path: answer.path.iter().map(|n| self.gw.name(*n)).collect(),
            payload: req.payload,
            latency_ms: answer.latency.as_secs_f64() * 1000.0,
        }))
    }

    async fn get_metrics(
        &self,
        _request: Request<pb::MetricsRequest>,
    ) -> Result<Response<pb::MetricsReply>, Status> {
        let m = match self.gw.metrics().await {
            Ok(m) => m,
            Err(NoAnswer::Deadline) => {
                return Err(Status::unavailable(format!(
                    "process {} did not answer",
                    self.gw.name(self.gw.ctx.process)
                )))
            }
            Err(NoAnswer::Exhausted) => {
                return Err(Status::resource_exhausted(
                    "this process's gRPC server waits on too many requests",
                ))
            }
        };
        Ok(Response::new(pb::MetricsReply {
            process: self.gw.name(self.gw.ctx.process),
            queue_len: m.queue_len,
            inflight: m.inflight,
            processed: m.processed,
            refused: m.refused,
            p50_ms: m.p50_us as f64 / 1000.0,
            p90_ms: m.p90_us as f64 / 1000.0,
            p99_ms: m.p99_us as f64 / 1000.0,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeouts_read_in_every_unit() {
        let mut meta = MetadataMap::new();
        for (text, ms) in [
            ("2S", Some(2000)),
            ("150m", Some(150)),
            ("1500u", Some(2)),
            ("1M", Some(60_000)),
            ("5x", None),
            ("S", None),
        ] {
            meta.insert("grpc-timeout", text.parse().unwrap());
            assert_eq!(grpc_timeout_ms(&meta), ms, "{text}");
        }
    }

    #[test]
    fn deadlines_take_the_shorter_and_refuse_too_long() {
        assert_eq!(deadline_ms(0, None).unwrap(), DEADLINE_DEFAULT_MS);
        assert_eq!(deadline_ms(0, Some(300)).unwrap(), 300);
        assert_eq!(deadline_ms(500, Some(300)).unwrap(), 300);
        assert_eq!(deadline_ms(500, None).unwrap(), 500);
        assert!(deadline_ms(DEADLINE_MAX_MS + 1, None).is_err());
    }
}
