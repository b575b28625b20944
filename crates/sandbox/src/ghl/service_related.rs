//! Tasks, notes and appointments of a contact: the changes and the webhooks they emit
//! (TaskCreate/TaskComplete/TaskDelete, NoteCreate/NoteUpdate/NoteDelete, Appointment*).

use serde_json::{Map, Value};

use super::errors::{ApiError, ApiResult};
use super::model::{Appointment, Note, Task};
use super::service::contact_not_found;
use super::Ghl;

fn s(body: &Map<String, Value>, key: &str) -> Option<String> {
    body.get(key).and_then(Value::as_str).map(str::to_string)
}

fn task_not_found() -> ApiError {
    ApiError::bad_request("Task not found")
}

fn note_not_found() -> ApiError {
    ApiError::bad_request("Note not found")
}

impl Ghl {
    /// Creates a task on a contact.
    pub fn create_task(&self, contact_id: &str, body: &Map<String, Value>) -> ApiResult<Task> {
        let task = {
            let mut st = self.store.write();
            let loc = st
                .contacts
                .get(contact_id)
                .ok_or_else(contact_not_found)?
                .location_id
                .clone();
            let now = st.now();
            let t = Task {
                id: st.ids.next_id(),
                contact_id: contact_id.to_string(),
                location_id: loc,
                title: s(body, "title").unwrap_or_default(),
                body: s(body, "body"),
                due_date: s(body, "dueDate").unwrap_or_default(),
                completed: body
                    .get("completed")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                assigned_to: s(body, "assignedTo"),
                date_added: now,
                date_updated: now,
            };
            st.tasks
                .entry(contact_id.to_string())
                .or_default()
                .push(t.clone());
            t
        };
        self.emit(&task.location_id, "TaskCreate", task.to_webhook_json());
        Ok(task)
    }

    /// The tasks of a contact, oldest first.
    pub fn tasks_of(&self, contact_id: &str) -> Vec<Task> {
        self.store
            .read()
            .tasks
            .get(contact_id)
            .cloned()
            .unwrap_or_default()
    }

    /// One task of a contact.
    pub fn task(&self, contact_id: &str, task_id: &str) -> ApiResult<Task> {
        self.tasks_of(contact_id)
            .into_iter()
            .find(|t| t.id == task_id)
            .ok_or_else(task_not_found)
    }

    /// Updates a task (PUT, or PUT …/completed with only `completed`). A task turning complete
    /// emits TaskComplete; GHL has no webhook for other task edits.
    pub fn update_task(
        &self,
        contact_id: &str,
        task_id: &str,
        body: &Map<String, Value>,
    ) -> ApiResult<Task> {
        let (task, completed_now) = {
            let mut st = self.store.write();
            let now = st.now();
            let list = st.tasks.get_mut(contact_id).ok_or_else(task_not_found)?;
            let t = list
                .iter_mut()
                .find(|t| t.id == task_id)
                .ok_or_else(task_not_found)?;
            let was = t.completed;
            if let Some(v) = s(body, "title") {
                t.title = v;
            }
            if body.contains_key("body") {
                t.body = s(body, "body");
            }
            if let Some(v) = s(body, "dueDate") {
                t.due_date = v;
            }
            if body.contains_key("assignedTo") {
                t.assigned_to = s(body, "assignedTo");
            }
            if let Some(c) = body.get("completed").and_then(Value::as_bool) {
                t.completed = c;
            }
            t.date_updated = now;
            (t.clone(), !was && t.completed)
        };
        if completed_now {
            self.emit(&task.location_id, "TaskComplete", task.to_webhook_json());
        }
        Ok(task)
    }

    /// Deletes a task.
    pub fn delete_task(&self, contact_id: &str, task_id: &str) -> ApiResult<Task> {
        let task = {
            let mut st = self.store.write();
            let list = st.tasks.get_mut(contact_id).ok_or_else(task_not_found)?;
            let pos = list
                .iter()
                .position(|t| t.id == task_id)
                .ok_or_else(task_not_found)?;
            list.remove(pos)
        };
        self.emit(&task.location_id, "TaskDelete", task.to_webhook_json());
        Ok(task)
    }

    /// Creates a note on a contact.
    pub fn create_note(&self, contact_id: &str, body: &Map<String, Value>) -> ApiResult<Note> {
        let note = {
            let mut st = self.store.write();
            let loc = st
                .contacts
                .get(contact_id)
                .ok_or_else(contact_not_found)?
                .location_id
                .clone();
            let now = st.now();
            let n = Note {
                id: st.ids.next_id(),
                contact_id: contact_id.to_string(),
                location_id: loc,
                body: s(body, "body").unwrap_or_default(),
                user_id: s(body, "userId"),
                title: s(body, "title"),
                color: s(body, "color"),
                pinned: body.get("pinned").and_then(Value::as_bool).unwrap_or(false),
                date_added: now,
            };
            st.notes
                .entry(contact_id.to_string())
                .or_default()
                .push(n.clone());
            n
        };
        self.emit(&note.location_id, "NoteCreate", note.to_webhook_json());
        Ok(note)
    }

    /// The notes of a contact, oldest first.
    pub fn notes_of(&self, contact_id: &str) -> Vec<Note> {
        self.store
            .read()
            .notes
            .get(contact_id)
            .cloned()
            .unwrap_or_default()
    }

    /// One note of a contact.
    pub fn note(&self, contact_id: &str, note_id: &str) -> ApiResult<Note> {
        self.notes_of(contact_id)
            .into_iter()
            .find(|n| n.id == note_id)
            .ok_or_else(note_not_found)
    }

    /// Updates a note; emits NoteUpdate when something changed.
    pub fn update_note(
        &self,
        contact_id: &str,
        note_id: &str,
        body: &Map<String, Value>,
    ) -> ApiResult<Note> {
        let (note, changed) = {
            let mut st = self.store.write();
            let list = st.notes.get_mut(contact_id).ok_or_else(note_not_found)?;
            let n = list
                .iter_mut()
                .find(|n| n.id == note_id)
                .ok_or_else(note_not_found)?;
            let before = n.clone();
            if let Some(v) = s(body, "body") {
                n.body = v;
            }
            for (key, slot) in [
                ("userId", &mut n.user_id),
                ("title", &mut n.title),
                ("color", &mut n.color),
            ] {
                if body.contains_key(key) {
                    *slot = s(body, key);
                }
            }
            if let Some(p) = body.get("pinned").and_then(Value::as_bool) {
                n.pinned = p;
            }
            (n.clone(), *n != before)
        };
        if changed {
            self.emit(&note.location_id, "NoteUpdate", note.to_webhook_json());
        }
        Ok(note)
    }

    /// Deletes a note; emits NoteDelete.
    pub fn delete_note(&self, contact_id: &str, note_id: &str) -> ApiResult<Note> {
        let note = {
            let mut st = self.store.write();
            let list = st.notes.get_mut(contact_id).ok_or_else(note_not_found)?;
            let pos = list
                .iter()
                .position(|n| n.id == note_id)
                .ok_or_else(note_not_found)?;
            list.remove(pos)
        };
        self.emit(&note.location_id, "NoteDelete", note.to_webhook_json());
        Ok(note)
    }

    /// The appointments of a contact.
    pub fn appointments_of(&self, contact_id: &str) -> Vec<Appointment> {
        self.store
            .read()
            .appointments
            .get(contact_id)
            .cloned()
            .unwrap_or_default()
    }

    /// Books an appointment for a contact (admin API: calendars are outside the Contacts API).
    pub fn create_appointment(
        &self,
        contact_id: &str,
        body: &Map<String, Value>,
    ) -> ApiResult<Appointment> {
        let appt = {
            let mut st = self.store.write();
            let loc = st
                .contacts
                .get(contact_id)
                .ok_or_else(contact_not_found)?
                .location_id
                .clone();
            let now = st.now();
            let start = s(body, "startTime")
                .unwrap_or_else(|| super::model::iso(now + chrono::Duration::days(1)));
            let a = Appointment {
                id: st.ids.next_id(),
                contact_id: contact_id.to_string(),
                location_id: loc.clone(),
                calendar_id: s(body, "calendarId").unwrap_or_else(|| format!("cal-{loc}")),
                title: s(body, "title").unwrap_or_else(|| "Appointment".into()),
                status: s(body, "status").unwrap_or_else(|| "booked".into()),
                appointment_status: s(body, "appointmentStatus")
                    .unwrap_or_else(|| "confirmed".into()),
                assigned_user_id: s(body, "assignedUserId"),
                notes: s(body, "notes"),
                address: s(body, "address"),
                end_time: s(body, "endTime").unwrap_or_else(|| start.clone()),
                start_time: start,
                users: body
                    .get("users")
                    .and_then(Value::as_array)
                    .map(|u| {
                        u.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default(),
                date_added: now,
                date_updated: now,
            };
            st.appointments
                .entry(contact_id.to_string())
                .or_default()
                .push(a.clone());
            a
        };
        self.emit(
            &appt.location_id,
            "AppointmentCreate",
            appt.to_webhook_json(),
        );
        Ok(appt)
    }

    /// Changes an appointment (admin API); emits AppointmentUpdate.
    pub fn update_appointment(
        &self,
        appointment_id: &str,
        body: &Map<String, Value>,
    ) -> ApiResult<Appointment> {
        let appt = {
            let mut st = self.store.write();
            let now = st.now();
            let a = st
                .appointments
                .values_mut()
                .flat_map(|v| v.iter_mut())
                .find(|a| a.id == appointment_id)
                .ok_or_else(|| ApiError::bad_request("Appointment not found"))?;
            for (key, slot) in [
                ("title", &mut a.title),
                ("status", &mut a.status),
                ("appointmentStatus", &mut a.appointment_status),
                ("startTime", &mut a.start_time),
                ("endTime", &mut a.end_time),
            ] {
                if let Some(v) = s(body, key) {
                    *slot = v;
                }
            }
            for (key, slot) in [
                ("notes", &mut a.notes),
                ("address", &mut a.address),
                ("assignedUserId", &mut a.assigned_user_id),
            ] {
                if body.contains_key(key) {
                    *slot = s(body, key);
                }
            }
            a.date_updated = now;
            a.clone()
        };
        self.emit(
            &appt.location_id,
            "AppointmentUpdate",
            appt.to_webhook_json(),
        );
        Ok(appt)
    }

    /// Cancels and removes an appointment (admin API); emits AppointmentDelete.
    pub fn delete_appointment(&self, appointment_id: &str) -> ApiResult<Appointment> {
        let appt = {
            let mut st = self.store.write();
            let mut found = None;
            for list in st.appointments.values_mut() {
                if let Some(pos) = list.iter().position(|a| a.id == appointment_id) {
                    found = Some(list.remove(pos));
                    break;
                }
            }
            found.ok_or_else(|| ApiError::bad_request("Appointment not found"))?
        };
        self.emit(
            &appt.location_id,
            "AppointmentDelete",
            appt.to_webhook_json(),
        );
        Ok(appt)
    }
}
