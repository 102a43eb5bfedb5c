//! The wire shapes of Homeport's own agent protocol: the messages the control plane and the
//! agent exchange beyond the public AWS APIs. One definition serves both sides, so a field
//! cannot be written by one and parsed differently by the other.
