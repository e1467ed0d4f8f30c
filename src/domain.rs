//! Validated domain values: NHS numbers, priorities, roles, dates of birth, usernames.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// A 10-digit NHS number whose modulus 11 check digit is right.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct NhsNumber(String);

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum NhsNumberError {
    #[error("an NHS number has 10 digits (spaces or hyphens allowed between groups); got {0} digits")]
    Length(usize),
    #[error("an NHS number contains only digits, spaces and hyphens")]
    NotDigits,
    #[error("the check digit is wrong: {0} is not a valid NHS number")]
    CheckDigit(String),
}

impl NhsNumber {
    pub fn parse(input: &str) -> Result<Self, NhsNumberError> {
        let trimmed = input.trim();
        if trimmed.chars().any(|c| !(c.is_ascii_digit() || c == ' ' || c == '-')) {
            return Err(NhsNumberError::NotDigits);
        }
        let digits: Vec<u32> = trimmed.chars().filter_map(|c| c.to_digit(10)).collect();
        if digits.len() != 10 {
            return Err(NhsNumberError::Length(digits.len()));
        }
        let sum: u32 = digits[..9].iter().enumerate().map(|(i, d)| d * (10 - i as u32)).sum();
        let check = match 11 - sum % 11 {
            11 => 0,
            10 => return Err(NhsNumberError::CheckDigit(trimmed.to_string())),
            c => c,
        };
        if check != digits[9] {
            return Err(NhsNumberError::CheckDigit(trimmed.to_string()));
        }
        Ok(Self(digits.iter().map(|d| char::from_digit(*d, 10).unwrap_or('0')).collect()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Clinical priority of a letter, most urgent first in queue order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    #[default]
    Routine,
    Urgent,
    TwoWeekWait,
}

impl Priority {
    pub const ALL: [Priority; 3] = [Priority::Routine, Priority::Urgent, Priority::TwoWeekWait];
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Routine => "routine",
            Priority::Urgent => "urgent",
            Priority::TwoWeekWait => "two_week_wait",
        }
    }
    /// Queue rank: lower runs first.
    pub fn rank(self) -> i64 {
        match self {
            Priority::TwoWeekWait => 0,
            Priority::Urgent => 1,
            Priority::Routine => 2,
        }
    }
}

impl FromStr for Priority {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Priority::ALL
            .into_iter()
            .find(|p| p.as_str() == s.trim())
            .ok_or_else(|| format!("priority must be one of routine, urgent, two_week_wait; got {s:?}"))
    }
}

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Clinician,
    Secretary,
    TeamLead,
    /// Directorate or business manager: reads reports, boards and breaches of the teams
    /// assigned to them (their team memberships); edits nothing.
    Manager,
    Superuser,
}

impl Role {
    pub const ALL: [Role; 5] = [Role::Clinician, Role::Secretary, Role::TeamLead, Role::Manager, Role::Superuser];
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Clinician => "clinician",
            Role::Secretary => "secretary",
            Role::TeamLead => "team_lead",
            Role::Manager => "manager",
            Role::Superuser => "superuser",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL.into_iter().find(|r| r.as_str() == s.trim()).ok_or_else(|| {
            format!("role must be one of clinician, secretary, team_lead, manager, superuser; got {s:?}")
        })
    }
}

/// A username: 2-64 characters of lowercase letters, digits, `.`, `_`, `-`.
pub fn validate_username(name: &str) -> Result<(), String> {
    let ok_chars = name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if (2..=64).contains(&name.len()) && ok_chars {
        Ok(())
    } else {
        Err(format!("username {name:?} must be 2-64 characters of a-z, 0-9, '.', '_' or '-'"))
    }
}

/// A patient's date of birth: `YYYY-MM-DD`, not in the future, not before 1880.
pub fn parse_dob(input: &str, today: NaiveDate) -> Result<NaiveDate, String> {
    let date = NaiveDate::parse_from_str(input.trim(), "%Y-%m-%d")
        .map_err(|_| format!("date of birth must be a real date written YYYY-MM-DD; got {input:?}"))?;
    if date > today {
        return Err(format!("date of birth {date} is in the future"));
    }
    if date < NaiveDate::from_ymd_opt(1880, 1, 1).unwrap_or(date) {
        return Err(format!("date of birth {date} is implausibly early"));
    }
    Ok(date)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nhs_numbers() {
        let cases: &[(&str, Result<&str, NhsNumberError>)] = &[
            ("9434765919", Ok("9434765919")),
            ("943 476 5919", Ok("9434765919")),
            ("943-476-5919", Ok("9434765919")),
            ("4010232137", Ok("4010232137")),
            ("9434765918", Err(NhsNumberError::CheckDigit("9434765918".into()))),
            ("943476591", Err(NhsNumberError::Length(9))),
            ("94347659190", Err(NhsNumberError::Length(11))),
            ("94347a5919", Err(NhsNumberError::NotDigits)),
            // remainder 1 gives check value 10, which no valid number has
            ("0000000060", Err(NhsNumberError::CheckDigit("0000000060".into()))),
        ];
        for (input, expected) in cases {
            let got = NhsNumber::parse(input).map(|n| n.0);
            assert_eq!(got, expected.as_ref().map(|s| s.to_string()).map_err(Clone::clone), "{input}");
        }
    }

    #[test]
    fn priorities_and_roles_round_trip() {
        for p in Priority::ALL {
            assert_eq!(p.as_str().parse::<Priority>(), Ok(p));
        }
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
        }
        assert!("stat".parse::<Priority>().is_err());
        assert!("admin".parse::<Role>().is_err());
        assert!(Priority::TwoWeekWait.rank() < Priority::Urgent.rank());
    }

    #[test]
    fn dates_of_birth() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        assert!(parse_dob("1961-04-02", today).is_ok());
        assert!(parse_dob("1961-02-30", today).is_err());
        assert!(parse_dob("02/04/1961", today).is_err());
        assert!(parse_dob("2027-01-01", today).is_err());
        assert!(parse_dob("1800-01-01", today).is_err());
    }

    #[test]
    fn usernames() {
        assert!(validate_username("dr.patel").is_ok());
        assert!(validate_username("Dr.Patel").is_err());
        assert!(validate_username("x").is_err());
        assert!(validate_username("a b").is_err());
    }
}
