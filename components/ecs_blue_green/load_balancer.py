"""The service's load balancer: two target groups, a production and a test listener, access logs."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
import jsii
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_s3 as s3
from constructs import Construct, IValidation

from components.compliance import acknowledge, control_tower, exempt, skip

#: A deleted or overwritten access log stays recoverable for this many days.
NONCURRENT_LOG_DAYS = 30
#: The two target groups, by the colour the template metadata gives them (release_guard reads it).
COLOURS = ("Blue", "Green")
#: Priority of the one forwarding rule of each listener under the ECS controller.
FORWARD_RULE_PRIORITY = 1


@dataclass(frozen=True)
class ForwardWeights:
    """The weights of the Blue and the Green target group in one forward action (numbers or tokens)."""

    blue: object
    green: object


@jsii.implements(IValidation)
class _ForwardsLive:
    """Fails the synth if nobody gave the load balancer its live weights: it would forward to Blue."""

    def __init__(self, load_balancer: ServiceLoadBalancer) -> None:
        self._load_balancer = load_balancer

    def validate(self) -> list[str]:
        if self._load_balancer._forwarding_live:
            return []
        return ["forward_live was never called: every listener would forward to Blue whatever is live"]


class ServiceLoadBalancer:
    """An ALB that drops invalid headers, logs to a locked bucket, and has two listeners.

    * The production listener serves users: HTTPS with TLS 1.2+ when a certificate is
      configured (port 80 then redirects), plain HTTP on port 80 otherwise.
    * The test listener is reachable from inside the VPC only; the release controller points
      it at the new revision before any user sees it.
    * ``forward_with_rules``: CodeDeploy shifts traffic on the listeners' default actions;
      ECS-native releases shift it on listener *rules* (``ecs.ListenerRuleConfiguration``), so
      each listener then also forwards through one rule that matches every path.
    * Every forward is a weighted forward over both target groups, with the weights given to
      :meth:`forward_live`: the shape both controllers leave behind after a release. A
      CloudFormation update of a listener or rule writes its template action back
      (aws/aws-cdk#36649), so the weights must be what is live *now*: the service passes the
      ``LiveTraffic`` reader's answer (live_traffic_reader.py), never a stored value. The
      load balancer is built first and the weights given after, because the reader names the
      listeners and rules built here.

    A part of ``ReleasedFargateService``, not a construct of its own: it builds into the scope it
    is given (the service) and adds no path segment, so its resources keep the logical ids they
    had before the service was split into files (docs/ecs-blue-green.md, "Logical ids").
    """

    def __init__(
        self,
        scope: Construct,
        *,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        internet_facing: bool,
        vpc_cidr: str,
        container_port: int,
        health_check_path: str,
        certificate_arn: str | None,
        test_listener_port: int,
        test_listener_cidr: str | None,
        log_retention_days: int,
        forward_with_rules: bool,
        deletion_protection: bool,
    ) -> None:
        self._scope = scope
        self._forward_with_rules = forward_with_rules
        self._forwarding_live = False
        self.access_logs = self._access_log_bucket(log_retention_days)
        self.security_group = ec2.SecurityGroup(
            self._scope,
            "LoadBalancerSecurityGroup",
            vpc=vpc,
            description="Load balancer: production listener for users, test listener from inside the VPC",
            allow_all_outbound=False,
        )
        self.load_balancer = elbv2.ApplicationLoadBalancer(
            self._scope,
            "LoadBalancer",
            vpc=vpc,
            vpc_subnets=subnets,
            internet_facing=internet_facing,
            security_group=self.security_group,
            drop_invalid_header_fields=True,
            # Prod's load balancer cannot be deleted by a stray API call or a replacement
            # (Control Tower CT.ELASTICLOADBALANCING.PR.5); the other environments are torn down.
            deletion_protection=deletion_protection,
        )
        if not deletion_protection:
            torn_down = (
                "The load balancer holds no data and a deploy recreates it, while deletion protection would make the "
                "documented cdk destroy of this non-production environment fail until someone turns it off by hand; "
                "prod's load balancer has deletion protection."
            )
            exempt(
                self.load_balancer,
                torn_down,
                nag=["NIST.800.53.R5-ELBDeletionProtectionEnabled"],
                control_tower_controls=["CT.ELASTICLOADBALANCING.PR.5"],
            )
        self.load_balancer.log_access_logs(self.access_logs, prefix="alb")
        acknowledge(
            self.load_balancer,
            "NIST.800.53.R5-ALBWAFEnabled",
            "The sample application answers a health check and a secret check only; web ACL rules are chosen "
            "for what a real application serves, and a team associates its own AWS WAF web ACL with this "
            "load balancer.",
        )
        self.blue_target_group, self.green_target_group = (
            self._target_group(vpc, colour, container_port, health_check_path) for colour in COLOURS
        )
        self.production_port = 443 if certificate_arn else 80
        self.production_listener = self._production_listener(
            internet_facing=internet_facing, vpc_cidr=vpc_cidr, certificate_arn=certificate_arn
        )
        self.test_listener = self.load_balancer.add_listener(
            "TestListener",
            port=test_listener_port,
            protocol=elbv2.ApplicationProtocol.HTTP,
            open=False,
            default_target_groups=[self.blue_target_group],
        )
        self._acknowledge_plain_http(
            self.test_listener,
            "The test listener only carries the release controller's checks of the new revision from inside "
            "the VPC; its security group rule admits the VPC (or the configured test CIDR) and nothing else.",
        )
        self.security_group.add_ingress_rule(
            ec2.Peer.ipv4(test_listener_cidr or vpc_cidr),
            ec2.Port.tcp(test_listener_port),
            "Test listener: pre-release checks from inside the VPC only",
        )
        self.production_rule = self._forward_rule(self.production_listener, "ProductionRule")
        self.test_rule = self._forward_rule(self.test_listener, "TestRule")
        self._scope.node.add_validation(_ForwardsLive(self))

    def forward_live(self, *, production: ForwardWeights, test: ForwardWeights) -> None:
        """Write every forward with these weights: the listeners' default actions and (ECS) the rules.

        Under ECS a listener's default action takes its rule's weights: the rule matches every
        request, and the listener holds forward actions only (ECS developer guide,
        alb-resources-for-blue-green) that never answer with anything but the live group.
        """
        for listener, rule, weights in (
            (self.production_listener, self.production_rule, production),
            (self.test_listener, self.test_rule, test),
        ):
            cfn_listener = listener.node.default_child
            assert isinstance(cfn_listener, elbv2.CfnListener)
            cfn_listener.add_property_override("DefaultActions", [self._weighted_forward(weights)])
            if rule is not None:
                cfn_rule = rule.node.default_child
                assert isinstance(cfn_rule, elbv2.CfnListenerRule)
                cfn_rule.add_property_override("Actions", [self._weighted_forward(weights)])
        self._forwarding_live = True

    @property
    def target_groups(self) -> dict[str, elbv2.ApplicationTargetGroup]:
        return {"Blue": self.blue_target_group, "Green": self.green_target_group}

    # ----------------------------------------------------------------------------------
    def _target_group(
        self, vpc: ec2.IVpc, colour: str, container_port: int, health_check_path: str
    ) -> elbv2.ApplicationTargetGroup:
        target_group = elbv2.ApplicationTargetGroup(
            self._scope,
            f"{colour}TargetGroup",
            vpc=vpc,
            target_type=elbv2.TargetType.IP,
            port=container_port,
            protocol=elbv2.ApplicationProtocol.HTTP,
            deregistration_delay=cdk.Duration.seconds(30),
            health_check=elbv2.HealthCheck(
                path=health_check_path,
                healthy_http_codes="200",
                interval=cdk.Duration.seconds(15),
                healthy_threshold_count=2,
                unhealthy_threshold_count=3,
            ),
        )
        cfn_target_group = target_group.node.default_child
        assert isinstance(cfn_target_group, cdk.CfnResource)
        # Which group is which, for the pre-deploy guard that reads the deployed template.
        cfn_target_group.add_metadata("Release", {"Colour": colour})
        return target_group

    def _weighted_forward(self, weights: ForwardWeights) -> dict[str, object]:
        """Forward to both groups with the live weights (what CodeDeploy and ECS leave behind)."""
        return {
            "Type": "forward",
            "ForwardConfig": {
                "TargetGroups": [
                    {"TargetGroupArn": self.blue_target_group.target_group_arn, "Weight": weights.blue},
                    {"TargetGroupArn": self.green_target_group.target_group_arn, "Weight": weights.green},
                ]
            },
        }

    def _forward_rule(self, listener: elbv2.ApplicationListener, rule_id: str) -> elbv2.ApplicationListenerRule | None:
        """Under ECS, the one rule of ``listener`` that matches every path; its action is set by forward_live."""
        if not self._forward_with_rules:
            return None
        return elbv2.ApplicationListenerRule(
            self._scope,
            rule_id,
            listener=listener,
            priority=FORWARD_RULE_PRIORITY,
            conditions=[elbv2.ListenerCondition.path_patterns(["/*"])],
            target_groups=[self.blue_target_group],
        )

    def _access_log_bucket(self, log_retention_days: int) -> s3.Bucket:
        bucket = s3.Bucket(
            self._scope,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,  # ALB access logs support SSE-S3 only
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            # Versioned: access logs are audit evidence, and a deleted or overwritten log stays
            # recoverable for a month.
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    expiration=cdk.Duration.days(log_retention_days),
                    noncurrent_version_expiration=cdk.Duration.days(NONCURRENT_LOG_DAYS),
                )
            ],
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        target = (
            "This bucket is the destination of the load balancer's access logs; logging its own "
            "accesses to another bucket would only record the log delivery service writing here."
        )
        exempt(
            bucket,
            target,
            nag=["AwsSolutions-S1", "NIST.800.53.R5-S3BucketLoggingEnabled"],
            checkov_checks=["CKV_AWS_18"],
            control_tower_controls=["CT.S3.PR.2"],
        )
        sse_s3_only = (
            "Elastic Load Balancing delivers access logs only to buckets encrypted with SSE-S3, so a KMS key "
            "here would stop the delivery of every log."
        )
        exempt(
            bucket, sse_s3_only, nag=["NIST.800.53.R5-S3DefaultEncryptionKMS"], control_tower_controls=["CT.S3.PR.10"]
        )
        control_tower.skip(
            bucket,
            "CT.S3.PR.4",
            "No process reacts to a new access log: they are read when someone investigates, and an event "
            "notification would need CDK's notification custom resource, a Lambda function with its own role, "
            "to send events that nobody consumes.",
        )
        control_tower.skip(
            bucket,
            "CT.S3.PR.9",
            "The logs expire with the environment's log retention by lifecycle rule and the bucket is versioned "
            "against overwrites; Object Lock, which can only be turned on when a bucket is created, would add a "
            "second retention that the lifecycle rule could not shorten.",
        )
        acknowledge(
            bucket,
            "NIST.800.53.R5-S3BucketReplicationEnabled",
            "These logs describe a load balancer of this region only, expire with the environment's log "
            "retention and are versioned against deletion, so a replica in a second region would double "
            "their cost without a recovery need.",
        )
        return bucket

    def _production_listener(
        self, *, internet_facing: bool, vpc_cidr: str, certificate_arn: str | None
    ) -> elbv2.ApplicationListener:
        peer = ec2.Peer.any_ipv4() if internet_facing else ec2.Peer.ipv4(vpc_cidr)
        self.security_group.add_ingress_rule(
            peer, ec2.Port.tcp(self.production_port), "Production listener: the users of the service"
        )
        if internet_facing:
            acknowledge(
                self.security_group,
                "AwsSolutions-EC23",
                "An internet-facing load balancer serves the public on its production port only; the "
                "test listener and the tasks are reachable from inside the VPC alone.",
            )
            if not certificate_arn:
                skip(
                    self.security_group,
                    "CKV_AWS_260",
                    "Without a certificate_arn the internet-facing production listener is plain HTTP on port 80, "
                    "so the public must reach that port; with a certificate the rule opens 443 instead.",
                )
        if certificate_arn:
            redirect = self._redirect_http_to_https(peer, internet_facing=internet_facing)
            https = self.load_balancer.add_listener(
                "ProductionListener",
                port=443,
                protocol=elbv2.ApplicationProtocol.HTTPS,
                certificates=[elbv2.ListenerCertificate.from_arn(certificate_arn)],
                ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS,
                open=False,
                default_target_groups=[self.blue_target_group],
            )
            # Adding a certificate to a deployed stack moves ProductionListener from 80 to 443 and
            # creates the redirect on 80 in the same update. A load balancer has one listener per
            # port (CreateListener fails with DuplicateListener, "A listener with the specified port
            # already exists": ELBv2 API reference), so the redirect is created only after the
            # production listener has left port 80.
            redirect.node.add_dependency(https)
            return https
        listener = self.load_balancer.add_listener(
            "ProductionListener",
            port=80,
            protocol=elbv2.ApplicationProtocol.HTTP,
            open=False,
            default_target_groups=[self.blue_target_group],
        )
        self._acknowledge_plain_http(
            listener,
            "No certificate_arn is configured for this environment, so there is no certificate to serve HTTPS "
            "with; setting one makes this listener HTTPS on port 443 with the recommended TLS policy.",
        )
        return listener

    def _redirect_http_to_https(self, peer: ec2.IPeer, *, internet_facing: bool) -> elbv2.ApplicationListener:
        """Port 80 answers every request with a permanent redirect to HTTPS on 443, and serves nothing.

        Users who type the bare host name reach the HTTPS listener instead of a timeout. No target
        group sits behind this listener, so no request reaches a task over plain HTTP.
        """
        self.security_group.add_ingress_rule(
            peer, ec2.Port.tcp(80), "Redirect of plain HTTP to the HTTPS production listener"
        )
        redirect = self.load_balancer.add_redirect(source_port=80, target_port=443, open=False)
        acknowledge(
            redirect,
            "NIST.800.53.R5-ELBv2ACMCertificateRequired",
            "This listener answers every request with a permanent redirect to the HTTPS listener, which "
            "serves the certificate; it has no target group and carries no application data.",
        )
        if internet_facing:
            skip(
                self.security_group,
                "CKV_AWS_260",
                "Port 80 is open to the public only for the listener that answers every request with a "
                "permanent redirect to HTTPS on 443; it forwards nothing to the tasks.",
            )
        return redirect

    def _acknowledge_plain_http(self, listener: elbv2.ApplicationListener, reason: str) -> None:
        """The findings of every scanner on a listener that serves plain HTTP, for one reason."""
        exempt(
            listener,
            reason,
            nag=["NIST.800.53.R5-ALBHttpToHttpsRedirection", "NIST.800.53.R5-ELBv2ACMCertificateRequired"],
            checkov_checks=["CKV_AWS_2", "CKV_AWS_103"],
            control_tower_controls=["CT.ELASTICLOADBALANCING.PR.1"],
        )
