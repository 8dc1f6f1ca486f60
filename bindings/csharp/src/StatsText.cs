using System.Reflection;
using System.Text;

namespace Netmesh
{
    /// <summary>The ToString of the stats snapshots: "Type { Name=value, ... }" over their
    /// public properties, in declaration order.</summary>
    static class StatsText
    {
        internal static string Format(object stats)
        {
            var text = new StringBuilder(stats.GetType().Name).Append(" { ");
            bool first = true;
            foreach (PropertyInfo p in stats.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
            {
                if (!first) text.Append(", ");
                first = false;
                text.Append(p.Name).Append('=').Append(p.GetValue(stats));
            }
            return text.Append(" }").ToString();
        }
    }
}
