//! The workstation's words in Simplified Chinese (the default) and English. Every text a page
//! shows is a field here, so a missing translation is a compile error, not a blank.

use domain::org::Role;
use domain::ticket::{Channel, ReplyClaim, RequestKind, Status};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "zh" | "zh-CN" => Some(Self::Zh),
            "en" => Some(Self::En),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::Zh => "zh",
            Self::En => "en",
        }
    }

    /// The `lang` attribute of the page.
    pub fn html(self) -> &'static str {
        match self {
            Self::Zh => "zh-CN",
            Self::En => "en",
        }
    }

    pub fn other(self) -> Self {
        match self {
            Self::Zh => Self::En,
            Self::En => Self::Zh,
        }
    }

    /// The name of this language in itself, for the switch.
    pub fn own_name(self) -> &'static str {
        match self {
            Self::Zh => "中文",
            Self::En => "English",
        }
    }

    pub fn t(self) -> &'static Texts {
        match self {
            Self::Zh => &ZH,
            Self::En => &EN,
        }
    }

    fn pick(self, zh: &'static str, en: &'static str) -> &'static str {
        match self {
            Self::Zh => zh,
            Self::En => en,
        }
    }

    pub fn status(self, s: Status) -> &'static str {
        let en = match s {
            Status::PendingDispatch => "Awaiting dispatch",
            Status::Dispatched => "Awaiting signature",
            Status::InProgress => "In progress",
            Status::ReturnRequested => "Return requested",
            Status::Replied => "Awaiting follow-up",
            Status::Closed => "Closed",
            Status::Merged => "Merged",
            Status::HandedOff => "Handed off",
        };
        self.pick(s.zh(), en)
    }

    pub fn channel(self, c: Channel) -> &'static str {
        let en = match c {
            Channel::Phone => "Phone",
            Channel::Web => "Web",
            Channel::App => "App",
            Channel::MiniProgram => "Mini program",
            Channel::Wechat => "WeChat",
            Channel::Sms => "SMS",
            Channel::Email => "Email",
            Channel::Open311 => "Open311",
            Channel::Transfer110 => "From 110",
            Channel::Government => "From higher government",
        };
        self.pick(c.zh(), en)
    }

    pub fn kind(self, k: RequestKind) -> &'static str {
        let en = match k {
            RequestKind::Consultation => "Enquiry",
            RequestKind::Help => "Help",
            RequestKind::Complaint => "Complaint",
            RequestKind::Report => "Report",
            RequestKind::Suggestion => "Suggestion",
            RequestKind::Praise => "Praise",
        };
        self.pick(k.zh(), en)
    }

    pub fn role(self, r: Role) -> &'static str {
        let en = match r {
            Role::Operator => "Operator",
            Role::Dispatcher => "Dispatcher",
            Role::UnitHandler => "Unit handler",
            Role::UnitManager => "Unit manager",
            Role::FollowUpAgent => "Follow-up agent",
            Role::QualityInspector => "Quality inspector",
            Role::Supervisor => "Supervisor",
            Role::Admin => "Administrator",
            Role::ChannelClient => "Channel (Open311 client)",
            Role::CallSystem => "Call system (ACD/CTI)",
        };
        self.pick(r.zh(), en)
    }

    pub fn claim(self, c: ReplyClaim) -> &'static str {
        match c {
            ReplyClaim::Solved => self.pick("已解决", "Solved"),
            ReplyClaim::Explained => self.pick("已解释说明", "Explained"),
            ReplyClaim::CannotSolve => self.pick("无法解决", "Cannot be solved"),
        }
    }
}

impl Lang {
    /// A purpose of a reveal in words.
    pub fn reveal_purpose(self, purpose: domain::permission::RevealPurpose) -> &'static str {
        use domain::permission::RevealPurpose::*;
        match (purpose, self) {
            (_, Lang::Zh) => purpose.zh(),
            (ContactCitizen, Lang::En) => "To call the citizen about the problem",
            (FollowUpCall, Lang::En) => "The follow-up call",
            (ClarifyRequest, Lang::En) => "Details of the request",
            (SupervisionCheck, Lang::En) => "Supervision check",
            (Other, Lang::En) => "Other (say what)",
        }
    }

    /// A ticket's text field (where a number was typed) in words.
    pub fn text_field(self, field: &str) -> String {
        let (zh, en) = match field {
            "title" => ("标题", "Title"),
            "description" => ("诉求内容", "Description"),
            "location.address" => ("地点", "Place"),
            "attributes" => ("补充信息", "Extra answers"),
            "answer" => ("直办答复", "Answer on the call"),
            "note" => ("备注", "Note"),
            "reason" => ("理由", "Reason"),
            "rule" => ("依据", "Rule"),
            "result" => ("答复", "Reply"),
            "comment" => ("回访记录", "Follow-up comment"),
            "text" => ("记录", "Note"),
            other => return other.to_owned(),
        };
        self.pick(zh, en).to_owned()
    }

    /// An audit event kind (`ticket.dispatched`) in words; unknown kinds are shown as they are.
    pub fn event(self, kind: &str) -> String {
        let (zh, en) = match kind {
            "ticket.received" => ("受理", "Received"),
            "ticket.answered_on_call" => ("直办答复", "Answered on the call"),
            "ticket.dispatched" => ("派单", "Dispatched"),
            "ticket.signed" => ("签收", "Signed for"),
            "ticket.return_requested" => ("申请退单", "Return requested"),
            "ticket.return_approved" => ("同意退单", "Return approved"),
            "ticket.return_rejected" => ("驳回退单", "Return rejected"),
            "ticket.extension_requested" => ("申请延期", "Extension requested"),
            "ticket.extension_approved" => ("同意延期", "Extension approved"),
            "ticket.extension_rejected" => ("驳回延期", "Extension rejected"),
            "ticket.urged" => ("催办", "Urged"),
            "ticket.supervised" => ("督办", "Put under supervision"),
            "ticket.replied" => ("答复", "Replied"),
            "ticket.follow_up_recorded" => ("回访", "Follow-up recorded"),
            "ticket.reopened" => ("重办", "Reopened"),
            "ticket.closed" => ("办结", "Closed"),
            "ticket.merged_into" => ("并入他单", "Merged into another"),
            "ticket.absorbed" => ("并入本单", "Absorbed another"),
            "ticket.handed_off" => ("转交", "Handed off"),
            "ticket.note_added" => ("记录", "Note"),
            "ticket.contact_revealed" => ("查看联系方式", "Contact revealed"),
            "ticket.numbers_sealed" => ("文中号码已遮蔽", "Numbers in the text masked"),
            "access.ticket_read" => ("查阅工单", "Read the ticket"),
            "access.tickets_listed" => ("查阅列表", "Read a list"),
            "access.caller_looked_up" => ("按号码查询来电历史", "Looked up a caller"),
            "access.lookup_refused" => ("号码查询被拒绝", "Lookup refused"),
            "access.reveal_refused" => ("查看联系方式被拒绝", "Reveal refused"),
            "user.created" => ("新建账号", "Account created"),
            "user.updated" => ("修改账号", "Account changed"),
            other => return other.to_owned(),
        };
        self.pick(zh, en).to_owned()
    }
}

macro_rules! texts {
    ($($key:ident: $zh:literal, $en:literal;)*) => {
        /// One language's words for every screen.
        pub struct Texts { $(pub $key: &'static str,)* }
        pub const ZH: Texts = Texts { $($key: $zh,)* };
        pub const EN: Texts = Texts { $($key: $en,)* };
    };
}

texts! {
    product: "民声 · 12345 热线工作台", "minsheng · 12345 hotline workstation";
    skip_to_content: "跳到正文", "Skip to content";
    login_title: "登录", "Log in";
    username: "用户名", "User name";
    password: "密码", "Password";
    login_button: "登录", "Log in";
    logout: "退出", "Log out";
    demo_hint: "演示账号密码均为 minsheng-demo", "Demo accounts all use the password minsheng-demo";
    nav_intake: "受理", "Intake";
    nav_dispatch: "派单", "Dispatch";
    nav_unit: "承办", "Unit inbox";
    nav_followup: "回访", "Follow-up";
    nav_dashboard: "督办看板", "Dashboard";
    nav_admin: "系统管理", "Administration";
    nav_privacy: "隐私审查", "Privacy";
    roles_awaiting: "待审批的角色（管理员授予的可看工单角色）", "Roles awaiting approval (ticket-seeing roles an administrator gave)";
    refuse: "驳回", "Refuse";
    awaiting_approval: "待督办审批", "Awaiting a supervisor";
    failed_logins: "登录失败（24 小时内）", "Failed logins (last 24 hours)";
    no_failed_logins: "没有登录失败。", "No failed logins.";
    reveal_purpose: "查看事由", "Purpose";
    privacy_window: "时间范围（小时）", "Window (hours)";
    privacy_flags: "需要关注", "Needs a look";
    privacy_no_flags: "没有需要关注的情况。", "Nothing needs a look.";
    privacy_people: "查阅统计（每人）", "Looks per person";
    privacy_ticket: "谁看过这张工单", "Who looked at this ticket";
    privacy_person: "此人的查阅记录", "This person's looks";
    privacy_reads: "查阅次数", "Reads";
    privacy_tickets_seen: "涉及工单", "Tickets seen";
    privacy_reveals: "查看联系方式", "Reveals";
    privacy_outside: "非本人工作范围", "Outside own work";
    privacy_lookups: "来电号码查询", "Caller lookups";
    privacy_refused: "被拒绝", "Refused";
    privacy_burst: "最密集", "Busiest burst";
    privacy_when: "时间", "When";
    privacy_who: "人员", "Who";
    privacy_what: "操作", "What";
    privacy_detail: "详情", "Detail";
    privacy_show: "查看", "Show";
    privacy_none: "没有记录。", "No records.";
    nav_search: "查工单", "Find ticket";
    ticket_no: "工单号", "Ticket no.";
    open: "打开", "Open";
    status: "状态", "Status";
    title: "标题", "Title";
    category: "诉求分类", "Category";
    kind: "诉求类型", "Kind";
    channel: "渠道", "Channel";
    urgency: "紧急程度", "Urgency";
    address: "事发地点", "Location";
    division: "所属区划", "Division";
    description: "诉求内容", "Description";
    confidential: "保密（承办单位看不到市民身份）", "Confidential (units never see who the citizen is)";
    confidential_short: "保密", "Confidential";
    received_at: "受理时间", "Received";
    lead_unit: "主办单位", "Lead unit";
    co_units: "协办单位", "Co-units";
    due: "办理时限", "Due";
    countdown: "剩余时间", "Time left";
    overdue: "已超时", "Overdue";
    nothing_here: "暂无工单。", "No tickets here.";
    caller_phone: "来电号码", "Caller's number";
    caller_name: "市民称呼", "Citizen's name";
    caller_history: "该号码的历史工单", "This caller's earlier tickets";
    caller_history_hint: "输入号码后显示（按号码的加密索引查找，不解密）", "Shown once a number is entered (found by a keyed hash of the number; nothing is decrypted)";
    no_history: "没有历史工单。", "No earlier tickets.";
    confidential_count: "保密工单（不显示）：", "Confidential tickets (not shown):";
    category_search: "分类（输入关键词或描述，↓ 选择）", "Category (type words, ↓ to choose)";
    category_chosen: "已选分类", "Chosen category";
    category_none: "尚未选择分类", "No category chosen yet";
    answer_on_call: "直办答复（当场答复即办结）", "Answer given on the call (closes at once)";
    create_for_dispatch: "生成工单待派", "Create for dispatch";
    answer_and_close: "直办办结", "Answer and close";
    shortcuts: "快捷键", "Shortcuts";
    intake_saved: "已生成工单", "Ticket recorded";
    intake_answered: "已直办办结", "Answered and closed";
    new_queue: "待派单", "To dispatch";
    returns_queue: "退单审核", "Return requests";
    extensions_queue: "延期审核", "Extension requests";
    overdue_queue: "已超时", "Overdue";
    due_soon_queue: "即将到期（24小时内）", "Due within 24 hours";
    duplicates_queue: "疑似重复", "Possible duplicates";
    dispatch: "派单", "Dispatch";
    dispatch_to: "派往主办单位", "Lead unit";
    suggested_units: "按派单目录推荐", "Suggested by the dispatch catalogue";
    other_units: "其他单位", "Other units";
    covers_place: "管辖此地", "covers the place";
    deadlines_will_be: "确认后时限为", "On confirming, the deadlines will be";
    sign_by: "签收时限", "Sign by";
    reply_by: "答复时限", "Reply by";
    note: "备注", "Note";
    confirm_dispatch: "确认派单", "Confirm dispatch";
    approve: "同意", "Approve";
    reject: "驳回", "Reject";
    approve_return: "同意退单并重新派单", "Approve and dispatch again";
    reason: "理由", "Reason";
    rule: "依据", "Rule relied on";
    working_days: "延期工作日", "Working days";
    merge_into: "并入", "Merge into";
    merge: "并单", "Merge";
    unit_inbox: "本单位待办（按时限排序）", "Our unit's work, by deadline";
    unit_load: "本单位工作量", "Our unit's load";
    sign: "签收", "Sign for it";
    reply: "答复", "Reply";
    reply_result: "办理结果", "Result";
    reply_claim: "本单位认为", "We consider it";
    request_return: "申请退单", "Request a return";
    request_extension: "申请延期", "Request an extension";
    add_note: "添加记录", "Add a note";
    contacted_citizen: "已联系市民", "We contacted the citizen";
    followup_due: "待回访工单", "Tickets due for a call-back";
    read_out: "向市民宣读的答复", "The reply to read to the citizen";
    not_reached: "未接通", "Not reached";
    solved_satisfied: "已解决·满意", "Solved · satisfied";
    solved_basic: "已解决·基本满意", "Solved · basically satisfied";
    solved_dissatisfied: "已解决·不满意", "Solved · dissatisfied";
    not_solved: "未解决（重办）", "Not solved (reopen)";
    unit_contacted: "单位已联系市民", "The unit contacted the citizen";
    comment: "回访记录", "Comment";
    timeline: "办理过程", "Timeline";
    who: "操作人", "Who";
    what: "事项", "What";
    when: "时间", "When";
    contact: "联系方式", "Contact";
    contact_hidden: "保密工单：承办单位不可见市民身份。", "Confidential: the citizen's identity is not shown to units.";
    no_contact: "市民未留联系方式。", "The citizen left no contact.";
    reveal: "查看完整号码", "Reveal the full contact";
    reveal_warning: "查看将记入审计日志（谁、何时、为何）。请填写理由：", "Revealing is written to the audit log (who, when, why). Give the reason:";
    revealed_logged: "已记入审计日志，序号", "Logged in the audit log as entry";
    numbers_in_text: "文中填写的号码", "Numbers written in the text";
    in_entry: "见过程记录", "in timeline entry";
    actions: "可办理事项", "What you can do";
    no_actions: "您对该工单当前没有可办理的事项。", "There is nothing for you to do on this ticket now.";
    reply_section: "答复", "Reply";
    urge: "催办", "Urge";
    supervise: "督办", "Supervise";
    hand_off: "转交 110/119/120/122", "Hand off to 110/119/120/122";
    month: "月份", "Month";
    show: "显示", "Show";
    ranking: "承办单位排名", "Unit ranking";
    rank: "名次", "Rank";
    unit: "单位", "Unit";
    response_rate: "响应率", "Response";
    resolution_rate: "解决率", "Resolution";
    satisfaction_rate: "满意率", "Satisfaction";
    composite: "综合得分", "Composite";
    sample: "回访样本", "Follow-ups";
    gap_title: "办结与解决的差距（单位自称解决 − 市民确认解决）", "Closed vs solved (unit's own claim − citizen's answer)";
    claimed_solved: "自称解决", "Claimed solved";
    gap: "差距（百分点）", "Gap (points)";
    trend_title: "近八周趋势", "The last eight weeks";
    week: "周", "Week";
    received: "受理量", "Received";
    overdue_title: "各单位超时工单（当前）", "Overdue tickets by unit (now)";
    count: "数量", "Count";
    channel_title: "按渠道", "By channel";
    category_title: "按分类（一级）", "By category (top level)";
    csv: "下载 CSV", "Download CSV";
    admin_units: "承办单位与派单目录", "Units and the dispatch catalogue";
    admin_users: "用户与角色", "Users and roles";
    admin_categories: "诉求分类", "Categories";
    admin_tiers: "紧急程度与时限", "Urgency tiers and deadlines";
    save: "保存", "Save";
    create: "新建", "Create";
    active: "启用", "Active";
    roles: "角色", "Roles";
    affiliation: "所属", "Affiliation";
    display_name: "姓名", "Name";
    error_title: "操作未完成", "That did not work";
    refused_invalid_input: "填写的内容不符合要求，请按下面的提示修改后再提交。", "Something in what was entered is not accepted; correct it as described below.";
    refused_not_permitted: "您的岗位无权进行此操作。", "Your role may not do this.";
    refused_wrong_state: "工单当前的状态不允许此操作，请刷新页面查看最新状态。", "The ticket's current status does not allow this; reload it to see where it stands.";
    refused_ticket_not_found: "没有这个工单，请核对工单号。", "There is no such ticket; check its number.";
    refused_not_found: "没有找到要打开的内容。", "What you asked for was not found.";
    refused_conflict: "与已有记录冲突，请刷新后核对再试。", "This clashes with what is already recorded; reload and check before trying again.";
    refused_too_many_requests: "操作过于频繁，请稍后再试。", "Too many attempts; wait a moment and try again.";
    refused_unauthenticated: "请先登录。", "Please log in first.";
    refused_unavailable: "系统暂时无法保存，请稍后再试；您填写的内容未被保存。", "The system cannot save right now; nothing was saved, try again shortly.";
    refused_internal: "系统出错，已记录，请把下面的编号告诉管理员。", "Something went wrong on our side; it was logged — quote the number below.";
    back: "返回", "Back";
    done: "已完成", "Done";
    language: "English", "中文";
    page_not_found: "没有这个页面。", "There is no such page.";
    unit_id: "单位编码", "Unit id";
    unit_kind: "单位类型", "Kind";
    parent: "上级", "Parent";
    jurisdiction: "管辖区划", "Jurisdiction";
    catalogue: "派单目录（分类编码，逗号分隔）", "Dispatch catalogue (category codes, comma-separated)";
    tier_code: "编码", "Code";
    tier_sign: "签收时限", "Sign within";
    tier_reply: "答复时限", "Reply within";
    import_csv: "导入分类 CSV（DB44/T 2479 列格式）", "Import a category CSV (DB44/T 2479 columns)";
    edit: "编辑", "Edit";
    switch_page: "切换工作页", "Switch between pages";
    media: "市民提供的图片或材料（外部链接）", "Photo or document from the citizen (external link)";
    photo: "市民上传的现场照片", "The citizen's photo of the problem";
    needs_https: "此地址未使用 HTTPS，浏览器不会保存登录状态。请通过 https:// 访问工作台。", "This address is not HTTPS, so the browser will not keep the login. Open the workstation over https://.";
    new_password: "初始密码（至少 8 位）", "Initial password (8 characters or more)";
}
