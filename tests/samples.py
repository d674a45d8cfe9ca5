"""Sample inputs shared by the curation tests: an article to add (short, with a numbered list)."""

from __future__ import annotations

__all__ = ["ARTICLE"]

ARTICLE = """社群冷启动的复盘

我们在三个月里做了十个种子用户群,总结出冷启动的三个步骤:

1、先找二十个种子用户
种子用户要和产品高度相关,最好是已经付费的老客户。不要一开始就拉几百人,人多了反而没人说话。

2、设计第一周的破冰活动
第一周每天安排一个小话题,由运营同事带头回答,让新人知道这个群可以聊什么。

3、用周报沉淀内容
每周把群里的好问题整理成周报发回群里,成员会觉得自己的发言被看见了。

最后提醒一句:冷启动最大的误区是急着卖货,先让大家信任你,再谈转化。
"""
