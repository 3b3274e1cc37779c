"""Words the review pages show for the codes the records keep."""
CATEGORIES = {
    "de_facto_unsupported_child": "事实无人抚养儿童",
    "children_in_difficulty": "困境儿童",
    "unregistered_disability": "未申报残疾人",
    "illness_poverty": "因病致贫",
    "elderly_alone": "独居老人",
    "low_income": "低收入家庭",
    "dangerous_housing": "危房",
}
STATES = {"reported": "已上报", "confirmed": "已确认", "in_progress": "办理中", "resolved": "已办结",
          "verified": "已回访", "closed": "已关闭", "rejected": "不予受理"}
LEVELS = {"community": "社区", "street": "街道", "district": "区", "bureau": "民政局", "city": "市", "grid": "网格"}
COLOURS = {"red": "红", "yellow": "黄", "green": "绿"}
STATUSES = {"open": "未关闭", "overdue": "已超时", "active": "办理中", "escalated": "已上转", "closed": "已关闭",
            "rejected": "不予受理", "all": "全部"}


def category(code):
    return CATEGORIES.get(code, code)
ACTIONS = {"confirm": "确认", "start": "开始办理", "resolve": "办结", "verify": "回访核实", "close": "关闭",
           "reject": "不予受理", "reopen": "重新打开", "escalate": "上转", "route": "转办", "recolour": "调整颜色",
           "note": "备注", "assign": "指定承办人", "summon": "吹哨召集部门", "report_in": "部门报到",
           "answer": "部门反馈", "release": "解除召集", "request_visit": "请求回访核实"}
SUMMONS = {"summoned": "待报到", "reported_in": "已报到，待反馈", "answered": "已反馈", "released": "已解除"}
CHECKS = {"income": "收入", "food": "粮食", "clothing": "衣被", "children": "儿童", "health": "健康", "housing": "住房"}
CHECK_STATUS = {"ok": "正常", "concern": "关注", "urgent": "紧急"}
