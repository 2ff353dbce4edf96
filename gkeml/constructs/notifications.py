"""Pub/Sub topics the platform publishes to, and GKE's cluster notifications (upgrade notices)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gkeml import platform
from gkeml.constructs.grants import Grantee
from gkeml.framework import Construct, google


@dataclass(frozen=True)
class TopicProps:
    """A topic's name, project and labels."""

    project: str
    name: str
    labels: Mapping[str, str] = field(default_factory=dict)


class Topic(Construct):
    """A Pub/Sub topic. Nobody may publish to it but those granted with :meth:`grant_publish`
    (and, in its own project, Google's service agents that hold publish through their roles)."""

    def __init__(self, scope: Construct, id: str, props: TopicProps, *, depends_on: Sequence[Any] = ()):
        super().__init__(scope, id)
        self.props = props
        self.topic = google("pubsub_topic").PubsubTopic(
            self,
            "topic",
            project=props.project,
            name=props.name,
            labels=dict(props.labels) or None,
            depends_on=list(depends_on) or None,
        )

    def grant_publish(self, grantee: Grantee) -> Any:
        """Let ``grantee`` publish to this topic only; returns the binding."""
        return google("pubsub_topic_iam_member").PubsubTopicIamMember(
            self,
            f"publisher-{grantee.grant_id}",
            project=self.props.project,
            topic=self.topic.name,
            role=platform.PUBSUB_PUBLISHER_ROLE,
            member=grantee.member,
            depends_on=list(grantee.grant_dependencies) or None,
        )


@dataclass(frozen=True)
class UpgradeNoticesProps:
    """Where GKE publishes the cluster's notifications, and which kinds."""

    project: str
    topic: str
    events: tuple[str, ...] = platform.DEFAULT_CLUSTER_NOTIFICATION_EVENTS
    labels: Mapping[str, str] = field(default_factory=dict)


class UpgradeNotices(Construct):
    """A topic in the cluster's project and the cluster's ``notification_config`` publishing the
    chosen events to it (GKE's service agent publishes there through roles/container.serviceAgent:
    no grant). Maintenance windows and exclusions stay with the cluster's config."""

    def __init__(
        self, scope: Construct, id: str, props: UpgradeNoticesProps, *, cluster: Any, depends_on: Sequence[Any] = ()
    ):
        super().__init__(scope, id)
        cc = google("container_cluster")
        self.topic = Topic(self, "topic", TopicProps(props.project, props.topic, props.labels), depends_on=depends_on)
        cluster.put_notification_config(
            pubsub=cc.ContainerClusterNotificationConfigPubsub(
                enabled=True,
                topic=self.topic.topic.id,
                filter=cc.ContainerClusterNotificationConfigPubsubFilter(event_type=list(props.events)),
            )
        )
