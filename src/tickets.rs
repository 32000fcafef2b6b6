//! Single-use tickets for `EventSource`, which cannot send an
//! `Authorization` header: a page trades its bearer token for a ticket
//! (`POST /api/sse-ticket`) and opens `/dashboard/sse?ticket=…`. A ticket
//! names the token's principal, lives [`TTL`], and works once, so the JWT
//! itself never goes into a URL (where proxies and logs keep URLs).

use std::collections::HashMap;
use std::time::Duration;

use parking_lot::Mutex;
use rand::RngCore;
use tokio::time::Instant;

use crate::auth::Principal;

/// How long a ticket may wait to be used.
pub const TTL: Duration = Duration::from_secs(30);
/// Most tickets outstanding at once; past it, new ones are refused until
/// old ones are used or expire.
const MAX_OUTSTANDING: usize = 10_000;

/// See the module documentation.
#[derive(Debug, Default)]
pub struct Tickets {
    issued: Mutex<HashMap<String, (Principal, Instant)>>,
}

impl Tickets {
    /// A new ticket for `principal`, or `None` when too many are
    /// outstanding.
    pub fn issue(&self, principal: Principal) -> Option<String> {
        let mut issued = self.issued.lock();
        if issued.len() >= MAX_OUTSTANDING {
            issued.retain(|_, (_, at)| at.elapsed() < TTL);
            if issued.len() >= MAX_OUTSTANDING {
                return None;
            }
        }
        let mut bytes = [0u8; 24];
        rand::rng().fill_bytes(&mut bytes);
        let ticket: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        issued.insert(ticket.clone(), (principal, Instant::now()));
        Some(ticket)
    }

    /// The principal of `ticket`, once: a used, expired or unknown ticket
    /// is `None`.
    pub fn redeem(&self, ticket: &str) -> Option<Principal> {
        let (principal, at) = self.issued.lock().remove(ticket)?;
        (at.elapsed() < TTL).then_some(principal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_ticket_works_once_and_not_after_its_time() {
        let tickets = Tickets::default();
        let once = tickets.issue(Principal::anonymous()).unwrap();
        assert_eq!(once.len(), 48);
        assert_eq!(tickets.redeem(&once).unwrap().sub, "anonymous");
        assert!(tickets.redeem(&once).is_none(), "used");
        let late = tickets.issue(Principal::anonymous()).unwrap();
        tokio::time::advance(TTL).await;
        assert!(tickets.redeem(&late).is_none(), "expired");
        assert!(tickets.redeem("made-up").is_none());
    }
}
