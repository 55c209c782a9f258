//! The domain told as stories, without sockets (see `story.rs`).

mod story;
