//! Tasks, notes and appointments of a contact.

use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

use super::contacts::body;
use super::seg;
use crate::client::{Call, GhlClient};
use crate::error::GhlError;
use crate::models::appointment::Appointment;
use crate::models::misc::Acknowledged;
use crate::models::note::{CreateNote, Note, UpdateNote};
use crate::models::task::{CreateTask, Task, UpdateTask};

#[derive(Deserialize)]
struct Tasks {
    #[serde(default)]
    tasks: Vec<Task>,
}

#[derive(Deserialize)]
struct OneTask {
    task: Task,
}

#[derive(Deserialize)]
struct Notes {
    #[serde(default)]
    notes: Vec<Note>,
}

#[derive(Deserialize)]
struct OneNote {
    note: Note,
}

#[derive(Deserialize)]
struct Events {
    #[serde(default)]
    events: Vec<Appointment>,
}

fn tasks_path(contact_id: &str) -> String {
    format!("/contacts/{}/tasks", seg(contact_id))
}

fn task_path(contact_id: &str, task_id: &str) -> String {
    format!("/contacts/{}/tasks/{}", seg(contact_id), seg(task_id))
}

fn notes_path(contact_id: &str) -> String {
    format!("/contacts/{}/notes", seg(contact_id))
}

fn note_path(contact_id: &str, note_id: &str) -> String {
    format!("/contacts/{}/notes/{}", seg(contact_id), seg(note_id))
}

impl GhlClient {
    /// `GET /contacts/{contactId}/tasks`.
    pub async fn list_tasks(&self, contact_id: &str) -> Result<Vec<Task>, GhlError> {
        let call = Call::new(Method::GET, tasks_path(contact_id));
        Ok(self.send::<Tasks>(call).await?.tasks)
    }

    /// `POST /contacts/{contactId}/tasks`, sent at most once in effect: when the outcome is
    /// unclear, the contact's tasks are listed and one with the same title, due date and body
    /// is the answer ([`Task::matches`]). So an identical task that already existed counts as
    /// "already created".
    pub async fn create_task(&self, contact_id: &str, task: &CreateTask) -> Result<Task, GhlError> {
        let call = Call::new(Method::POST, tasks_path(contact_id)).json(body(task)?);
        let created = self
            .create_once(call, move || async move {
                let tasks = self.list_tasks(contact_id).await?;
                Ok(tasks
                    .into_iter()
                    .find(|t| t.matches(task))
                    .map(|task| OneTask { task }))
            })
            .await?;
        Ok(created.task)
    }

    /// `GET /contacts/{contactId}/tasks/{taskId}`.
    pub async fn get_task(&self, contact_id: &str, task_id: &str) -> Result<Task, GhlError> {
        let call = Call::new(Method::GET, task_path(contact_id, task_id));
        Ok(self.send::<OneTask>(call).await?.task)
    }

    /// `PUT /contacts/{contactId}/tasks/{taskId}`: changes the fields set in `update`.
    pub async fn update_task(
        &self,
        contact_id: &str,
        task_id: &str,
        update: &UpdateTask,
    ) -> Result<Task, GhlError> {
        let call = Call::new(Method::PUT, task_path(contact_id, task_id)).json(body(update)?);
        Ok(self.send::<OneTask>(call).await?.task)
    }

    /// `DELETE /contacts/{contactId}/tasks/{taskId}`. A retried delete whose first answer was
    /// lost ends in [`GhlError::NotFound`].
    pub async fn delete_task(
        &self,
        contact_id: &str,
        task_id: &str,
    ) -> Result<Acknowledged, GhlError> {
        let call = Call::new(Method::DELETE, task_path(contact_id, task_id));
        self.send(call).await
    }

    /// `PUT /contacts/{contactId}/tasks/{taskId}/completed`: marks the task done (or not done).
    pub async fn complete_task(
        &self,
        contact_id: &str,
        task_id: &str,
        completed: bool,
    ) -> Result<Task, GhlError> {
        let call = Call::new(
            Method::PUT,
            format!("{}/completed", task_path(contact_id, task_id)),
        )
        .json(json!({ "completed": completed }));
        Ok(self.send::<OneTask>(call).await?.task)
    }

    /// `GET /contacts/{contactId}/appointments`.
    pub async fn list_appointments(&self, contact_id: &str) -> Result<Vec<Appointment>, GhlError> {
        let call = Call::new(
            Method::GET,
            format!("/contacts/{}/appointments", seg(contact_id)),
        );
        Ok(self.send::<Events>(call).await?.events)
    }

    /// `GET /contacts/{contactId}/notes`.
    pub async fn list_notes(&self, contact_id: &str) -> Result<Vec<Note>, GhlError> {
        let call = Call::new(Method::GET, notes_path(contact_id));
        Ok(self.send::<Notes>(call).await?.notes)
    }

    /// `POST /contacts/{contactId}/notes`, sent at most once in effect: when the outcome is
    /// unclear, the contact's notes are listed and one with the same body (and title, when
    /// given) is the answer ([`Note::matches`]). So an identical note that already existed
    /// counts as "already created".
    pub async fn create_note(&self, contact_id: &str, note: &CreateNote) -> Result<Note, GhlError> {
        let call = Call::new(Method::POST, notes_path(contact_id)).json(body(note)?);
        let created = self
            .create_once(call, move || async move {
                let notes = self.list_notes(contact_id).await?;
                Ok(notes
                    .into_iter()
                    .find(|n| n.matches(note))
                    .map(|note| OneNote { note }))
            })
            .await?;
        Ok(created.note)
    }

    /// `GET /contacts/{contactId}/notes/{id}`.
    pub async fn get_note(&self, contact_id: &str, note_id: &str) -> Result<Note, GhlError> {
        let call = Call::new(Method::GET, note_path(contact_id, note_id));
        Ok(self.send::<OneNote>(call).await?.note)
    }

    /// `PUT /contacts/{contactId}/notes/{id}`: changes the fields set in `update`.
    pub async fn update_note(
        &self,
        contact_id: &str,
        note_id: &str,
        update: &UpdateNote,
    ) -> Result<Note, GhlError> {
        let call = Call::new(Method::PUT, note_path(contact_id, note_id)).json(body(update)?);
        Ok(self.send::<OneNote>(call).await?.note)
    }

    /// `DELETE /contacts/{contactId}/notes/{id}`. A retried delete whose first answer was lost
    /// ends in [`GhlError::NotFound`].
    pub async fn delete_note(
        &self,
        contact_id: &str,
        note_id: &str,
    ) -> Result<Acknowledged, GhlError> {
        let call = Call::new(Method::DELETE, note_path(contact_id, note_id));
        self.send(call).await
    }
}
