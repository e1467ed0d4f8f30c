//! Real words that look like commands: the context rules must keep them as words.

use super::check_all;

#[test]
fn colon_the_organ_stays_a_word() {
    check_all(&[
        ("the sigmoid colon was normal full stop", "The sigmoid colon was normal."),
        ("polyp in the descending colon full stop", "Polyp in the descending colon."),
        ("the transverse colon comma caecum", "The transverse colon, caecum"),
        ("ascending colon and caecum", "Ascending colon and caecum"),
        ("biopsies of the colon were taken", "Biopsies of the colon were taken"),
        ("his colon is redundant", "His colon is redundant"),
        ("diagnosis colon cancer", "Diagnosis colon cancer"),
        ("colon polyps were removed", "Colon polyps were removed"),
        ("the right colon full stop", "The right colon."),
        ("the transverse/sigmoid colon was normal", "The transverse/sigmoid colon was normal"),
        ("in the post-operative period", "In the post-operative period"),
        ("the colon-rectum junction", "The colon-rectum junction"),
        // A real colon command right after the organ.
        ("site sigmoid colon colon tubular adenoma", "Site sigmoid colon: tubular adenoma"),
        ("Re colon Mr Jones", "Re: Mr Jones"),
        ("plan colon repeat bloods", "Plan: repeat bloods"),
    ]);
}

#[test]
fn period_of_time_stays_a_word() {
    check_all(&[
        ("over a period of two weeks", "Over a period of two weeks"),
        ("her last menstrual period was in May", "Her last menstrual period was in May"),
        ("in the postoperative period she did well", "In the postoperative period she did well"),
        ("a six week period", "A six week period"),
        ("period pains", "Period pains"),
        ("during this period full stop", "During this period."),
        ("he remains stable period he is happy", "He remains stable. He is happy"),
    ]);
}

#[test]
fn stop_and_full_stop() {
    check_all(&[
        ("stop the apixaban full stop", "Stop the apixaban."),
        ("please stop apixaban", "Please stop apixaban"),
        ("the bleeding came to a full stop", "The bleeding came to a full stop"),
        ("it came to a full stop full stop", "It came to a full stop."),
        ("full blood count was normal full stop", "Full blood count was normal."),
        ("at the end full stop", "At the end."),
    ]);
}

#[test]
fn other_lookalikes() {
    check_all(&[
        ("there is a question mark over the diagnosis", "There is a question mark over the diagnosis"),
        ("a question mark remains", "A question mark remains"),
        ("is it benign question mark", "Is it benign?"),
        ("follow the dash diet", "Follow the dash diet"),
        ("follow a DASH diet", "Follow a DASH diet"),
        ("seen by Mr Dash today", "Seen by Mr Dash today"),
        ("bisoprolol two point five milligrams", "Bisoprolol two point five milligrams"),
        ("start a new line of treatment", "Start a new line of treatment"),
        ("as in the next paragraph", "As in the next paragraph"),
        ("write in capital letters", "Write in capital letters"),
        ("numeral errors", "Numeral errors"),
        ("a slash wound to the arm", "A slash wound to the arm"),
        ("each bullet point was discussed", "Each bullet point was discussed"),
        ("gunshot wound with bullet fragments", "Gunshot wound with bullet fragments"),
        ("a comma shaped lesion", "A comma shaped lesion"),
    ]);
}
