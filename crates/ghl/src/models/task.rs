//! Tasks of a contact (`TaskSchema`, `CreateTaskParams`, `UpdateTaskBody`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A task as GHL answers it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The user the task is assigned to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_to: Option<String>,
    /// RFC 3339 (`2021-07-08T02:30:00.000Z`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_date: Option<String>,
    #[serde(default)]
    pub completed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Task {
    /// Whether this task is the one `new` would create: same title, same due instant (GHL may
    /// reformat the date) and same body (no body matches an empty one). Used to find a task
    /// whose create answer was lost; an identical task made earlier matches too.
    pub fn matches(&self, new: &CreateTask) -> bool {
        self.title.as_deref() == Some(new.title.as_str())
            && self
                .due_date
                .as_deref()
                .is_some_and(|d| same_instant(d, &new.due_date))
            && self.body.as_deref().unwrap_or_default() == new.body.as_deref().unwrap_or_default()
    }
}

/// Two timestamps name the same instant (or, when either is not RFC 3339, are the same text).
pub(crate) fn same_instant(a: &str, b: &str) -> bool {
    match (
        chrono::DateTime::parse_from_rfc3339(a),
        chrono::DateTime::parse_from_rfc3339(b),
    ) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// `POST /contacts/{contactId}/tasks` (`CreateTaskParams`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateTask {
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// RFC 3339 (`2020-10-25T11:00:00Z`).
    pub due_date: String,
    pub completed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_to: Option<String>,
}

/// `PUT /contacts/{contactId}/tasks/{taskId}` (`UpdateTaskBody`): only the fields set change.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateTask {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_to: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reformatted_due_date_still_matches() {
        let new = CreateTask {
            title: "Call".into(),
            due_date: "2020-10-25T11:00:00Z".into(),
            ..CreateTask::default()
        };
        let mut t = Task {
            id: "t".into(),
            title: Some("Call".into()),
            due_date: Some("2020-10-25T11:00:00.000Z".into()),
            body: Some(String::new()),
            ..Task::default()
        };
        assert!(t.matches(&new));
        t.body = Some("other".into());
        assert!(!t.matches(&new));
        t.body = None;
        t.due_date = Some("2020-10-25T12:00:00+01:00".into());
        assert!(t.matches(&new));
        t.due_date = Some("2020-10-26T11:00:00Z".into());
        assert!(!t.matches(&new));
    }
}
