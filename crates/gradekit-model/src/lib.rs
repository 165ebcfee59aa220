//! Serde wire and config types of OpenAI-style graders.
